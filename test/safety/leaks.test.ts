/**
 * Nothing from objects in logs or messages, at any level (issue 16). The
 * marker is searched case-insensitively and inside byte arrays, base64 and hex
 * (test/helpers/leak-search.ts), so a lowercased, encoded or raw-bytes copy
 * counts as a leak:
 * - a malformed HTTP request carrying the marker, at log level trace (fastify's
 *   default client-error handler logs `rawPacket`, the request's bytes: the
 *   search is shown to find the marker there);
 * - CEL evaluation errors over Secret values transformed first (lowerAscii,
 *   upperAscii, base64, substring, concatenation), in admission answers;
 * - JSON patch errors (test, remove, replace over Secret data).
 */
import t from 'tap';
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import Fastify from 'fastify';
import { buildApp } from '../../src/server/app.js';
import type { JsonObject } from '../../src/kube/object.js';
import { admissionReview, policySetFromYaml } from '../fuzz/helpers.js';
import { leaks } from '../helpers/leak-search.js';

const MARKER = 'S3cr3T-Marker-91b4e2';

function sink(): { stream: Writable; text: () => string } {
  const lines: string[] = [];
  return { stream: new Writable({ write(c, _e, cb) { lines.push(String(c)); cb(); } }), text: () => lines.join('') };
}

/** Sends raw bytes to `port` and resolves with whatever comes back before the socket closes. */
function raw(port: number, bytes: Buffer): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let got = '';
    s.on('data', (d) => (got += String(d)));
    s.on('error', () => resolve(got));
    s.on('close', () => resolve(got));
    s.on('connect', () => s.end(bytes));
  });
}

const BODY = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u', object: { kind: 'Secret', data: { password: Buffer.from(MARKER).toString('base64'), plain: MARKER } } } });
const MALFORMED: [string, Buffer][] = [
  ['invalid header token', Buffer.from(`POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-${MARKER}\u0001: 1\r\nContent-Length: ${BODY.length}\r\n\r\n${BODY}`)],
  ['bad chunk after a body', Buffer.from(`POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz${MARKER}\r\n${BODY}\r\n`)],
  ['garbage request line', Buffer.from(`${MARKER} ${BODY}\r\n\r\n`)],
  ['header overflow', Buffer.from(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${MARKER.repeat(2000)}\r\n\r\n`)],
];

t.test('the search finds the marker in what fastify\'s default handler logs (the test can fail)', async (t) => {
  const out = sink();
  const app = Fastify({ logger: { level: 'trace', stream: out.stream } });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as { port: number }).port;
  await raw(port, MALFORMED[0][1]);
  await app.close();
  t.ok(leaks(out.text(), MARKER), 'rawPacket (a byte array) decoded: marker found');
  t.notOk(out.text().includes(MARKER), 'although not as plain text');
});

t.test('client errors at trace level: answered, logged without raw bytes', async (t) => {
  const out = sink();
  const set = policySetFromYaml('apiVersion: postrender.io/v1alpha1\nkind: ClusterPostRenderPolicy\nmetadata: {name: p}\nspec:\n  transformers:\n  - labels: {pairs: {a: b}}\n');
  const app = buildApp({ getPolicies: () => set, logger: { level: 'trace', stream: out.stream } });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as { port: number }).port;
  for (const [name, bytes] of MALFORMED) {
    const answer = await raw(port, bytes);
    t.match(answer, /^HTTP\/1\.1 4\d\d /, `${name}: a 4xx answer (${answer.split('\r\n')[0]})`);
    t.notOk(leaks(answer, MARKER), `${name}: answer clean`);
  }
  await app.close();
  t.match(out.text(), /client error/, 'client errors were logged');
  t.notOk(leaks(out.text(), MARKER), 'logs clean, decoded');
});

const SECRET: JsonObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'team-a' }, stringData: { password: MARKER }, data: { token: Buffer.from(MARKER).toString('base64') } };

/** CEL expressions that fail at evaluation on a transformed Secret value. */
const CEL_ERRORS: [string, string][] = [
  ['int of lowerAscii', 'int(object.stringData.password.lowerAscii()) > 0'],
  ['int of upperAscii', 'int(object.stringData.password.upperAscii()) > 0'],
  ['double of a substring', 'double(object.stringData.password.substring(1)) > 0.0'],
  ['bool of a concatenation', "bool('x' + object.stringData.password) == true"],
  ['duration of the value', "duration(object.stringData.password) > duration('1s')"],
  ['timestamp of the value', "timestamp(object.stringData.password) > timestamp('2020-01-01T00:00:00Z')"],
  ['map lookup by the value', 'object.stringData[object.stringData.password.lowerAscii()] == "x"'],
  ['quantity-like parse of base64', 'int(object.data.token) > 0'],
];

/** JSON patches that fail over Secret data. */
const PATCH_ERRORS: [string, string][] = [
  ['test op', '- {op: test, path: /stringData/password, value: nope}'],
  ['remove a missing key', '- {op: remove, path: /stringData/password/x}'],
  ['replace under a string', '- {op: replace, path: /stringData/password/0, value: x}'],
  ['add under a string', '- {op: add, path: /data/token/x, value: x}'],
];

function policy(name: string, failurePolicy: string, transformer: string): string {
  return `apiVersion: postrender.io/v1alpha1
kind: ClusterPostRenderPolicy
metadata: {name: ${name}}
spec:
  failurePolicy: ${failurePolicy}
  match: {resources: [{kinds: [Secret]}]}
  transformers:
${transformer}`;
}

t.test('CEL and patch errors carry types and paths, never values', async (t) => {
  const rows: [string, string][] = [
    ...CEL_ERRORS.flatMap(([n, e]): [string, string][] => [
      [`validate Deny: ${n}`, `  - validate: {expression: ${JSON.stringify(e)}, message: m, action: Deny}\n`],
      [`validate Warn: ${n}`, `  - validate: {expression: ${JSON.stringify(e)}, message: m, action: Warn}\n`],
      [`messageExpression: ${n}`, `  - validate: {expression: "false", messageExpression: ${JSON.stringify(`string(${e})`)}, action: Warn}\n`],
    ]),
    ...PATCH_ERRORS.map(([n, p]): [string, string] => [`patch: ${n}`, `  - patch:\n      target: {kind: Secret}\n      patch: |\n        ${p}\n`]),
  ];
  const out = sink();
  for (const [name, transformer] of rows) {
    for (const fp of ['Fail', 'Ignore']) {
      const set = policySetFromYaml(policy('leaky', fp, transformer));
      const app = buildApp({ getPolicies: () => set, logger: { level: 'trace', stream: out.stream } });
      for (const route of ['/mutate', '/validate']) {
        const res = await app.inject({ method: 'POST', url: route, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(admissionReview('u-leak', SECRET)) });
        const response = (res.json() as { response?: JsonObject }).response ?? {};
        const { patch: _patch, ...rest } = response;
        // CEL evaluation messages are rebuilt value-free from the error's code (src/expr/eval-errors.ts)
        t.notOk(leaks(JSON.stringify(rest), MARKER), `${name} (${fp}) ${route}: answer clean`);
        if (name.startsWith('validate')) t.match(JSON.stringify(rest), /expression failed: [^"]+ at 1:\d+/, `${name} (${fp}) ${route}: the error is reported, with its position`);
      }
      await app.close();
    }
  }
  // Logs carry policy and transformer names, never error texts (app.ts).
  t.notOk(leaks(out.text(), MARKER), 'logs clean');
});
