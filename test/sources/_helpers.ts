/** Helpers of the source and server runtime tests: a minimal review, a labels policy, bounded polling. */

/** A labels policy adding `team: <value>` (YAML text). */
export function labelPolicy(name: string, value: string, extra = ''): string {
  return `apiVersion: postrender.io/v1alpha1
kind: ClusterPostRenderPolicy
metadata: {name: ${name}}
spec:
${extra}  transformers:
  - name: team
    labels: {pairs: {team: ${value}}}
`;
}

/** An AdmissionReview v1 CREATE of a ConfigMap `cm` in `ns`. */
export function configMapReview(uid: string, ns = 'default', data: Record<string, string> = {}): Record<string, unknown> {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group: '', version: 'v1', kind: 'ConfigMap' },
      resource: { group: '', version: 'v1', resource: 'configmaps' },
      name: 'cm',
      namespace: ns,
      operation: 'CREATE',
      userInfo: { username: 'test' },
      object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', namespace: ns }, data },
    },
  };
}

/** Decodes the JSON patch of an AdmissionReview response (empty when none). */
export function patchOf(body: { response?: { patch?: string } }): { op: string; path: string; value?: unknown }[] {
  const p = body.response?.patch;
  return p ? JSON.parse(Buffer.from(p, 'base64').toString('utf8')) : [];
}

/** Polls `check` every 25 ms until it returns true; throws after `timeoutMs` (a bound, not a timing assertion). */
export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
