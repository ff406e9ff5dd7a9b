/**
 * The ready policies of examples/policies/: each passes its good/ fixtures and
 * denies its bad/ ones, through `run`'s front door (`renderManifests`) and
 * through `review()` on /mutate and /validate, with the same messages
 * (policy, rule, message) at both doors.
 */
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { review } from '../../src/admission/review.js';
import { formatResId, isObject, resIdOf, type KubeObject } from '../../src/kube/object.js';
import { parseManifests } from '../../src/kube/yaml-stream.js';
import { loadPolicies } from '../../src/policy/load.js';
import { renderManifests, RenderError } from '../../src/policy/render.js';
import type { PolicySet } from '../../src/policy/types.js';
import { admissionReview, policyLoadOptions } from './helpers.js';

const examples = resolve(import.meta.dirname, '../../examples/policies');
const policyDirs = readdirSync(examples).filter((d) => !d.startsWith('.')).sort();

interface Verdict {
  allowed: boolean;
  /** `policy/rule: message`, sorted. */
  denials: string[];
  patched: boolean;
}

function viaReview(object: KubeObject, set: PolicySet, route: 'mutate' | 'validate'): Verdict {
  const r = review(admissionReview(object, 'uid-1'), set, { route });
  const resp = (r.body as { response: { allowed: boolean; patch?: string; status?: { code: number; message: string } } }).response;
  // denialStatus joins `policy P rule R: message` with '; '
  const denials = resp.allowed ? [] : resp.status!.message.split(/; (?=policy )/).map((m) => m.replace(/^policy (\S+) rule (\S+): /, '$1/$2: ')).sort();
  if (!resp.allowed && resp.status!.code !== 403) throw new Error(`status ${resp.status!.code}: ${resp.status!.message}`);
  return { allowed: resp.allowed, denials, patched: resp.patch !== undefined };
}

function viaRender(text: string, set: PolicySet): Map<string, string[]> {
  const byObject = new Map<string, string[]>();
  try {
    renderManifests(text, set);
  } catch (e) {
    if (!(e instanceof RenderError)) throw e;
    for (const line of e.lines) {
      const m = /^(.*): denied by (\S+?)\/(\S+): (.*)$/.exec(line);
      if (!m) throw new Error(`unexpected render line: ${line}`);
      byObject.set(m[1], [...(byObject.get(m[1]) ?? []), `${m[2]}/${m[3]}: ${m[4]}`].sort());
    }
  }
  return byObject;
}

function objectsOf(text: string): KubeObject[] {
  return parseManifests(text).map((d) => d.value).filter(isObject) as KubeObject[];
}

t.test('every issue policy is present with good and bad fixtures', async (t) => {
  t.same(policyDirs, [
    'allowed-registries',
    'disallow-latest-tag',
    'disallow-privileged-hostpath',
    'forbid-nodeport-services',
    'pod-security-baseline',
    'pod-security-restricted',
    'require-labels',
    'require-resource-limits',
    'require-run-as-non-root',
  ]);
});

for (const dir of policyDirs) {
  t.test(dir, async (t) => {
    const { set, policies } = loadPolicies([join(examples, dir)], policyLoadOptions());
    t.same(set.names, [dir], 'the directory holds one policy named after it');
    t.ok(policies[0].transformers.every((tr) => tr.type === 'validate'), 'validate rules only');
    for (const kind of ['good', 'bad'] as const) {
      const files = readdirSync(join(examples, dir, kind)).filter((f) => f.endsWith('.yaml')).sort();
      t.ok(files.length > 0, `${kind}/ has fixtures`);
      for (const f of files) {
        const text = readFileSync(join(examples, dir, kind, f), 'utf8');
        const rendered = viaRender(text, set);
        const objects = objectsOf(text);
        let deniedObjects = 0;
        for (const obj of objects) {
          const id = formatResId(resIdOf(obj));
          const mutate = viaReview(obj, set, 'mutate');
          const validate = viaReview(obj, set, 'validate');
          t.notOk(mutate.patched || validate.patched, `${kind}/${f} ${id}: no patch`);
          t.same(mutate.denials, rendered.get(id) ?? [], `${kind}/${f} ${id}: /mutate and run give the same denials`);
          t.same(validate.denials, mutate.denials, `${kind}/${f} ${id}: /validate and /mutate give the same denials`);
          if (!mutate.allowed) deniedObjects++;
          for (const d of mutate.denials) t.ok(d.startsWith(`${dir}/`), `${kind}/${f}: denied by ${dir} itself`);
        }
        if (kind === 'good') t.equal(deniedObjects, 0, `good/${f}: every object admitted`);
        else t.equal(deniedObjects, objects.length, `bad/${f}: every object denied`);
      }
    }
  });
}

t.test('messageExpression names the offending containers', async (t) => {
  const rows: [string, string, string][] = [
    ['disallow-latest-tag', 'bad/untagged-init.yaml', 'disallow-latest-tag/image-tag: images without a pinned tag: migrate=registry.example.com:5000/migrate'],
    ['allowed-registries', 'bad/lookalike.yaml', 'allowed-registries/registry: images from a registry that is not allowed: registry.example.com.evil.io/app:1.0'],
    ['require-resource-limits', 'bad/no-memory-limit.yaml', 'require-resource-limits/limits: containers without cpu and memory limits: run'],
    ['disallow-privileged-hostpath', 'bad/host-path.yaml', 'disallow-privileged-hostpath/host-path: hostPath volumes are not allowed: varlog'],
    ['require-labels', 'bad/no-labels.yaml', 'require-labels/labels: missing labels: app.kubernetes.io/name, team'],
    ['forbid-nodeport-services', 'bad/node-port.yaml', 'forbid-nodeport-services/no-nodeport: Services of type NodePort are not allowed'],
  ];
  for (const [dir, file, want] of rows) {
    const { set } = loadPolicies([join(examples, dir)], policyLoadOptions());
    const [obj] = objectsOf(readFileSync(join(examples, dir, file), 'utf8'));
    t.same(viaReview(obj, set, 'mutate').denials, [want], `${dir} ${file}`);
  }
});
