/**
 * Parsing and classifying a kustomize patch text (a `patches:` entry's
 * `patch`/`path` contents, `patchesJson6902`, `patchesStrategicMerge`) as
 * kustomize v5.5 does: either a JSON6902 op list (`jsonPatchFromBytes`: JSON,
 * or YAML read as go-yaml v2 / YAML 1.1) or strategic-merge documents
 * (`ResmapFactory.SliceFromBytes`), exactly one of the two
 * (api/internal/builtins/PatchTransformer.go `Config`). Applying the ops is
 * src/patch/json6902.ts.
 *
 * Pure: no I/O; the `yaml` package is loaded only when the go-yaml v3 fast
 * reader cannot prove YAML 1.1 reads the text the same.
 */
import type * as YAML from 'yaml';
import { parseManifests, parseManifestsFast, yamlPkg } from '../kube/yaml-stream.js';
import { isAmbiguousInYaml11, YAML_PKG_11_TESTS } from '../kube/yaml-print.js';
import { isObject, type JsonObject, type JsonValue } from '../kube/object.js';
import type { Json6902Op } from './json6902.js';

/** A patch text that is neither a JSON6902 op list nor strategic-merge documents. */
export class PatchTextError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PatchTextError';
  }
}

/**
 * YAML options reading like go-yaml v2 / sigs.k8s.io/yaml `YAMLToJSON`, used by
 * kustomize for JSON6902 text: YAML 1.1 scalars (`yes` -> true, `0755` -> 493)
 * but no sexagesimal numbers or timestamps (they stay strings).
 */
const YAML11: YAML.DocumentOptions & YAML.SchemaOptions = {
  version: '1.1',
  customTags: (tags) => (tags as YAML.ScalarTag[]).filter((t) => t.format !== 'TIME' && t.tag !== 'tag:yaml.org,2002:timestamp'),
};

/**
 * Parses every document of `text` with YAML11 (the `yaml` package, loaded on
 * first use); throws PatchTextError on a YAML error. Empty documents are
 * skipped. Internal: exported for the fast path's differential test.
 */
export function yaml11Docs(text: string): JsonValue[] {
  const out: JsonValue[] = [];
  for (const d of yamlPkg().parseAllDocuments(text, YAML11)) {
    if (d.errors.length > 0) throw new PatchTextError(d.errors[0].message);
    if (d.contents === null) continue;
    try {
      out.push(d.toJS({ maxAliasCount: 1000 }) as JsonValue);
    } catch (e) {
      // toJS throws plain Errors (a `<<` merge of a scalar, the alias cap): a patch text error like any other.
      throw new PatchTextError((e as Error).message.split('\n')[0]);
    }
  }
  return out;
}

/** A string YAML 1.1 reads as itself when written plain: no 1.1 word, number, date or special (both the `yaml` package's and go-yaml v2's). */
function plainInYaml11(s: string): boolean {
  return !isAmbiguousInYaml11(s) && !YAML_PKG_11_TESTS.some((re) => re.test(s));
}

/** True when every key and string of `v` reads the same in YAML 1.1, and `v` holds no number (their spellings differ: `0o17`, `e5`, 2^53+). */
function sameInYaml11(v: JsonValue): boolean {
  if (typeof v === 'string') return plainInYaml11(v);
  if (typeof v === 'number' || typeof v === 'bigint') return false;
  if (Array.isArray(v)) return v.every(sameInYaml11);
  if (isObject(v)) return Object.keys(v).every((k) => plainInYaml11(k) && sameInYaml11(v[k]));
  return true; // null, true, false: spelled alike in both
}

/**
 * The first document of a YAML op list read by the go-yaml v3 fast reader
 * (src/kube/yaml-stream.ts), when YAML 1.1 provably reads the same; undefined
 * otherwise (the caller then loads the `yaml` package). The two readers differ
 * only on plain scalars that 1.1 types and v3 keeps as strings (`yes`, `off`,
 * `e5`, dates, ...) or spells as other numbers (`0o17`, huge ints): so every
 * key and string must be plain in 1.1 (a quoted `"yes"` also falls back:
 * needless but safe), no number may occur, and the first document must be the
 * stream's first (empty or `null` documents are skipped differently). A
 * document that is not a list is returned as read (it is refused either way). Internal:
 * exported for the differential test.
 */
export function fastOpList(text: string): JsonValue | undefined {
  let docs;
  try {
    docs = parseManifestsFast(text);
  } catch {
    return undefined;
  }
  const first = docs?.[0];
  if (first === undefined || first.docNumber !== 1) return undefined;
  // Both readers build the same structure: a document that is not a list is
  // refused alike, whatever its scalars (a strategic-merge text tried as JSON6902).
  if (!Array.isArray(first.value)) return first.value;
  return sameInYaml11(first.value) ? first.value : undefined;
}

/**
 * Parses a JSON6902 op list as kustomize `jsonPatchFromBytes`: text starting
 * with `[` is strict JSON; otherwise the first YAML document (YAML 1.1, as
 * go-yaml v2) is converted. `null` (an empty document) is an empty list.
 * Returns the ops; throws PatchTextError when the text is not a list of maps.
 */
export function parseJson6902(text: string): Json6902Op[] {
  let value: JsonValue | undefined;
  if (text.startsWith('[')) {
    try {
      value = JSON.parse(text) as JsonValue;
    } catch (e) {
      throw new PatchTextError((e as Error).message);
    }
  } else {
    value = fastOpList(text) ?? yaml11Docs(text)[0];
  }
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new PatchTextError('a JSON6902 patch must be a list of operations');
  return value.map((op, i) => {
    if (!isObject(op)) throw new PatchTextError(`operation ${i} is not a map`);
    return op;
  });
}

/**
 * Parses strategic-merge documents as kustomize `ResmapFactory.SliceFromBytes`
 * (kyaml: read exactly like manifests, `parseManifests`): every non-empty document must be a map
 * with a non-empty `kind` and `metadata.name` (measured with kustomize v5.5: a
 * patch without either is "unable to parse"). `apiVersion` is optional.
 * Throws PatchTextError.
 */
export function parseStrategicMergeDocs(text: string): JsonObject[] {
  let docs: JsonValue[];
  try {
    docs = parseManifests(text).map((d) => d.value);
  } catch (e) {
    throw new PatchTextError((e as Error).message);
  }
  return docs.map((d, i) => {
    if (!isObject(d)) throw new PatchTextError(`document ${i} is not a map`);
    const name = isObject(d.metadata) ? d.metadata.name : undefined;
    if (typeof d.kind !== 'string' || d.kind === '' || typeof name !== 'string' || name === '') {
      throw new PatchTextError(`document ${i} lacks kind or metadata.name`);
    }
    return d;
  });
}

/** A parsed patch text: JSON6902 operations or strategic-merge documents. */
export type ParsedPatch = { type: 'json6902'; ops: Json6902Op[] } | { type: 'strategicMerge'; docs: JsonObject[] };

/**
 * Classifies and parses a patch text as kustomize PatchTransformer.Config: the
 * text is tried both as strategic-merge documents and as a JSON6902 op list;
 * exactly one must succeed. A list is JSON6902; maps with kind and name are
 * SMP; a single op written as a map is neither (conformance 222); invalid YAML
 * is neither (212); text that is both (only `---`) is an error. The caller
 * rejects the empty text before (220). Throws PatchTextError.
 */
export function parsePatchText(text: string): ParsedPatch {
  let docs: JsonObject[] | undefined;
  let ops: Json6902Op[] | undefined;
  try {
    docs = parseStrategicMergeDocs(text);
  } catch {
    docs = undefined;
  }
  try {
    ops = text === '' ? undefined : parseJson6902(text);
  } catch {
    ops = undefined;
  }
  if (docs && ops) throw new PatchTextError(`illegally qualifies as both an SM and JSON patch: [${text}]`);
  if (ops) return { type: 'json6902', ops };
  if (docs) return { type: 'strategicMerge', docs };
  throw new PatchTextError(`unable to parse SM or JSON patch from [patch: ${JSON.stringify(text)}]`);
}
