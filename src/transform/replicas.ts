/**
 * The `replicas` transformer: kustomize `replicas` (builtin
 * ReplicaCountTransformer + api/filters/replicacount, field specs from
 * api/konfig/builtinpluginconsts/replicas.go). Conformance finding 28.
 */
import { fieldSpecSelects, REPLICAS_FIELD_SPECS, setScalar } from '../kube/fieldspecs.js';
import { metaString, type KubeObject } from '../kube/object.js';
import { specProgram } from './apply-specs.js';
import { decodeStruct, joinPath, optList, optString, typeName } from './decode.js';
import { ConfigError, type StreamRequirement, type TransformerFactory } from './types.js';

/** One `replicas` entry: an exact object name and the count to set. */
export interface ReplicasEntry {
  name: string;
  count: number | bigint;
}

/** kustomize's printed GVK list for the "does not match" error (resid.Gvk.String with empty group/version). */
const GVK_LIST = REPLICAS_FIELD_SPECS.map((s) => `${s.kind}.[noVer].[noGrp]`).join(' ');

/** The message kustomize prints when an entry matches nothing (conformance 236, 237). */
export function noMatchMessage(name: string): string {
  return `resource with name ${name} does not match a config with the following GVK [${GVK_LIST}]`;
}

/**
 * Decodes `count` as Go's int64: an integral number (or a big YAML integer);
 * a string (`"3"`), a fraction or another type throws ConfigError (conformance
 * 230). Missing means 0, the Go zero value, as kustomize.
 */
function decodeCount(v: unknown, path: string): number | bigint {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  const shown = typeof v === 'number' ? `number ${v}` : typeName(v);
  throw new ConfigError(`count must be an integer, got ${shown}`, path);
}

function decodeEntries(config: unknown): ReplicasEntry[] {
  return optList(config, '').map((raw, i) => {
    const p = joinPath('', i);
    const m = decodeStruct(raw, p, ['name', 'count']);
    return { name: optString(m.name, joinPath(p, 'name')), count: decodeCount(m.count, joinPath(p, 'count')) };
  });
}

/** True when kustomize's replicas field specs select the object (kind only: any group or version, conformance 131). */
function isScalable(obj: KubeObject): boolean {
  return REPLICAS_FIELD_SPECS.some((s) => fieldSpecSelects(s, obj));
}

/**
 * `replicas` (`replicasTransformer`): a list of `{name, count}`. Sets
 * `spec.replicas` (created if missing, conformance 132) on every Deployment,
 * StatefulSet, ReplicaSet or ReplicationController named exactly `name`, in
 * any namespace (134); other kinds are never touched (131). Counts are not
 * validated (-1 is written, 135). Entries apply in order (a later entry for
 * the same name wins).
 *
 * Each entry is a StreamRequirement: in `run`, an entry that matched no object
 * fails the build with kustomize's message (236, 237); admission ignores it.
 * Throws ConfigError for a non-list config, unknown keys, a non-string name or
 * a non-integer count (path like `[0].count`).
 */
export const replicasTransformer: TransformerFactory = (config, opts) => {
  const entries = decodeEntries(config).map((e, i) => ({
    ...e,
    key: `${opts.name}/replicas${joinPath('', i)}`,
    setSpecs: specProgram(REPLICAS_FIELD_SPECS, 'scalar', setScalar(e.count)),
  }));
  const requirements: StreamRequirement[] = entries.map((e) => ({ key: e.key, message: noMatchMessage(e.name) }));
  return {
    type: 'replicas',
    name: opts.name,
    requirements,
    apply: (obj, ctx) => {
      if (!isScalable(obj)) return obj;
      const name = metaString(obj, 'name');
      let out = obj;
      for (const e of entries) {
        if (e.name !== name) continue;
        ctx.satisfied(e.key);
        out = e.setSpecs(out);
      }
      return out;
    },
  };
};
