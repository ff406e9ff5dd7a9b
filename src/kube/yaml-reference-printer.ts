/**
 * The reference manifest printer: the `yaml` package's `Document.toString`
 * with YAML 1.1 quoting glued in (yaml-print.ts's `isAmbiguousInYaml11`,
 * `NEEDS_ESCAPES`, `doubleQuote`), as go-yaml v2's encoder quotes for Helm and
 * kubectl. yaml-print.ts's emitter prints the same text without the package;
 * `printManifests` (yaml-stream.ts) falls back to this printer for what the
 * emitter does not print.
 */
import type { ScalarTag, Tags } from 'yaml';
import type { JsonValue } from './object.js';
import { BLANK_LINE, NEEDS_ESCAPES, doubleQuote, isAmbiguousInYaml11 } from './yaml-print.js';
import { yamlPkg } from './yaml-package.js';

type StringifyFn = NonNullable<ScalarTag['stringify']>;

/**
 * The string tag for printing: double quotes (escaped by us) for strings a 1.1
 * reader would re-type or that hold risky characters, literal blocks for
 * multi-line values, and the `yaml` package's own choice otherwise.
 */
function yaml11StringTag(base: ScalarTag): ScalarTag {
  const inner = base.stringify as StringifyFn;
  const { Scalar } = yamlPkg();
  const stringify: StringifyFn = (item, ctx, onComment, onChompKeep) => {
    const s = String(item.value);
    if (NEEDS_ESCAPES.test(s) || isAmbiguousInYaml11(s) || (s.includes('\n') && (ctx.implicitKey || BLANK_LINE.test(s) || ctx.indent === ''))) return doubleQuote(s);
    const it = s.includes('\n') && !ctx.implicitKey && !ctx.inFlow ? Object.assign(new Scalar(s), item, { type: Scalar.BLOCK_LITERAL }) : item;
    return inner(it, ctx, onComment, onChompKeep);
  };
  return { ...base, stringify };
}

/**
 * Numbers whose shortest form is an exponent without a dot (`1e+21`, `5e-7`) get
 * one (`1.0e+21`): PyYAML's float pattern needs the dot and would read a string.
 */
function yaml11NumberTag(base: ScalarTag): ScalarTag {
  const inner = base.stringify as StringifyFn;
  const stringify: StringifyFn = (item, ctx, onComment, onChompKeep) =>
    inner(item, ctx, onComment, onChompKeep).replace(/^([-+]?[0-9]+)([eE])/, '$1.0$2');
  return { ...base, stringify };
}

const NUMBER_TAGS = new Set(['tag:yaml.org,2002:int', 'tag:yaml.org,2002:float']);

function printTags(tags: Tags): Tags {
  // The 1.1 schema's merge tag would claim the string '<<' and print it bare.
  const kept = tags.filter((t) => typeof t !== 'object' || t.tag !== 'tag:yaml.org,2002:merge');
  return kept.map((t) => {
    if (typeof t !== 'object' || !('stringify' in t) || !t.stringify) return t;
    if (t.tag === 'tag:yaml.org,2002:str') return yaml11StringTag(t as ScalarTag);
    return NUMBER_TAGS.has(t.tag) ? yaml11NumberTag(t as ScalarTag) : t;
  });
}

/** `yaml` package output options: go-yaml v2's layout (finding 35), no folding (finding 38 folds; readers unfold, we skip it). */
const TO_STRING_OPTIONS = {
  indent: 2,
  indentSeq: false,
  lineWidth: 0,
  minContentWidth: 0,
  blockQuote: 'literal',
  defaultStringType: 'PLAIN',
  defaultKeyType: null,
  nullStr: 'null',
  trueStr: 'true',
  falseStr: 'false',
} as const;

/**
 * One document with the reference printer (the `yaml` package), without the
 * `---` separator. Throws only for values that are not JSON (functions,
 * symbols, cycles).
 */
export function printDocumentSlow(v: JsonValue): string {
  const Y = yamlPkg();
  return new Y.Document(v, { version: '1.1', merge: false, customTags: printTags, keepUndefined: false }).toString(TO_STRING_OPTIONS);
}

/**
 * `printManifests` with the reference printer (the `yaml` package), whatever the
 * input. Internal: exported for the differential tests of yaml-print.ts.
 */
export function printManifestsSlow(values: JsonValue[]): string {
  return values.map(printDocumentSlow).join('---\n');
}
