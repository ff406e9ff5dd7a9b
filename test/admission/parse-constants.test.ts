/**
 * parse.ts's `isAdmissionApiVersion` and `isOperation` (comparisons with the
 * constants, on every review) against `ADMISSION_API_VERSIONS.includes` and
 * `OPERATIONS.includes`, the lists the error messages name: every member and
 * near misses (case, spaces, prefixes, a NUL, the other list's members).
 */
import t from 'tap';
import { isAdmissionApiVersion, isOperation } from '../../src/admission/parse.js';
import { ADMISSION_API_VERSIONS, OPERATIONS } from '../../src/admission/types.js';

const NEAR = [
  '', ' ', 'admission.k8s.io', 'admission.k8s.io/', 'admission.k8s.io/v2', 'admission.k8s.io/v1beta2', 'Admission.k8s.io/v1',
  'admission.k8s.io/v1 ', ' admission.k8s.io/v1', 'admission.k8s.io/v1\u0000', 'v1', 'create', 'Create', 'CREATE ', 'CREAT',
  'UPDATE\u0000', 'DELETEX', 'connect', 'PATCH', 'GET', 'constructor', '__proto__', 'toString',
];

t.test('isAdmissionApiVersion and isOperation answer as the lists\' includes', async (t) => {
  const all = [...ADMISSION_API_VERSIONS, ...OPERATIONS, ...NEAR, ...ADMISSION_API_VERSIONS.map((v) => v.slice(0, -1)), ...OPERATIONS.map((v) => v.toLowerCase())];
  for (const v of all) {
    t.equal(isAdmissionApiVersion(v), (ADMISSION_API_VERSIONS as readonly string[]).includes(v), `apiVersion ${JSON.stringify(v)}`);
    t.equal(isOperation(v), (OPERATIONS as readonly string[]).includes(v), `operation ${JSON.stringify(v)}`);
  }
  // A string built at run time (not a literal): compared by content.
  t.ok(isAdmissionApiVersion(['admission', 'k8s', 'io/v1'].join('.')));
  t.ok(isOperation(['CRE', 'ATE'].join('')));
});
