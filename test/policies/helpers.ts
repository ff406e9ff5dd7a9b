/**
 * Load options for policy tests: the CEL condition compiler (as every CLI
 * command loads policies).
 */
import { gvkOf, metaString, type KubeObject } from '../../src/kube/object.js';
import { conditionCompiler } from '../../src/expr/vars.js';
import type { LoadOptions } from '../../src/policy/load.js';

/** LoadOptions with `validate` registered and CEL conditions enabled. */
export function policyLoadOptions(): LoadOptions {
  return { compileCondition: conditionCompiler };
}

/** The AdmissionReview the API server would send for creating `object`. */
export function admissionReview(object: KubeObject, uid: string): Record<string, unknown> {
  const g = gvkOf(object);
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group: g.group, version: g.version, kind: g.kind },
      resource: { group: g.group, version: g.version, resource: `${g.kind.toLowerCase()}s` },
      operation: 'CREATE',
      namespace: metaString(object, 'namespace'),
      name: metaString(object, 'name'),
      userInfo: { username: 'alice', groups: ['system:authenticated'] },
      object,
      dryRun: false,
    },
  };
}
