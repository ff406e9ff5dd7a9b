/**
 * The manifest stream: multi-document YAML in, plain JSON values out, and back.
 * This module is the front door (`parseManifests`, `printManifests`,
 * `normalizeForOutput`); the work is done, one concern a file, by:
 *
 * - yaml-scalars.ts: scalar typing as go-yaml v3 does it. Reading follows
 *   kustomize v5.5, which decodes every resource with go-yaml v3 (kyaml
 *   `RNode.MarshalJSON` -> `yaml.Unmarshal` into `interface{}`): YAML 1.2 core
 *   booleans and nulls (`yes`/`on` stay strings), but go's `strconv.ParseInt`
 *   with base 0 for integers, so legacy octal `0755`, `0x1F`, `0o17`, `0b11`
 *   and `1_000` are integers.
 * - yaml-reference-reader.ts: the reference reader (`parseManifestsSlow`): the
 *   `yaml` package tokenises (failsafe schema: every scalar arrives as text);
 *   the reader types the scalars, expands aliases and `<<` merge keys, and
 *   rejects duplicate keys.
 * - yaml-fast-reader.ts: the fast path most streams take (`parseManifestsFast`),
 *   js-yaml with a schema that types scalars with the very same functions; it
 *   gives up, and the reference reader runs, on anything where the two could
 *   differ, errors included. Its state is per call.
 * - yaml-print.ts and yaml-reference-printer.ts: printing. Helm and kubectl read
 *   manifests with go-yaml v2 and PyYAML (YAML 1.1), so every string that a 1.1
 *   reader would take for something else (`"on"`, `"0755"`, `"1:20"`, `"="`,
 *   `"2024-01-01"`, ...) is double-quoted, as go-yaml v2's encoder does. The
 *   reference printer is the `yaml` package's (`printManifestsSlow`);
 *   yaml-print.ts prints the same text without it.
 * - manifest-doc.ts: `ManifestDoc`, `ManifestParseError`, `ParseOptions`.
 *
 * The `yaml` package (yaml-package.ts) is loaded only when the reference reader
 * or printer runs.
 */
import { isObject, metadataOf, type JsonObject, type JsonValue } from './object.js';
import type { ManifestDoc, ParseOptions } from './manifest-doc.js';
import { parseManifestsFast } from './yaml-fast-reader.js';
import { parseManifestsSlow } from './yaml-reference-reader.js';
import { printDocumentSlow } from './yaml-reference-printer.js';
import { emitDocument, emitDocumentChunks } from './yaml-print.js';

export { ManifestParseError, type ManifestDoc, type ParseOptions } from './manifest-doc.js';
export { parseGoInt, resolvePlainScalar } from './yaml-scalars.js';
export { yamlPkg } from './yaml-package.js';
export { parseManifestsFast } from './yaml-fast-reader.js';
export { parseManifestsSlow } from './yaml-reference-reader.js';
export { printManifestsSlow } from './yaml-reference-printer.js';
export { doubleQuote, isAmbiguousInYaml11 } from './yaml-print.js';

/**
 * Parse a multi-document manifest stream as kustomize v5.5 reads it (go-yaml v3
 * semantics, see the module comment).
 *
 * Input: YAML text (any number of `---`-separated documents; `...` markers,
 * comments, a BOM and CRLF are fine). Output: one `ManifestDoc` per non-empty
 * document, in stream order; empty, comment-only and `null` documents are dropped.
 * Anchors, aliases and `<<` merge keys are expanded into independent copies.
 * The fast path (js-yaml) and the reference reader (the `yaml` package) give the
 * same result; the reference runs whenever the fast path cannot vouch for that.
 *
 * Throws `ManifestParseError` (a one-line message with document number, line and
 * column) for malformed YAML, duplicate mapping keys, unknown anchors, non-scalar
 * keys, a bad `<<` value, a scalar that does not fit its explicit `!!int`/`!!bool`/...
 * tag, and excessive alias expansion (billion laughs).
 */
export function parseManifests(text: string, opts: ParseOptions = {}): ManifestDoc[] {
  return parseManifestsFast(text, opts) ?? parseManifestsSlow(text, opts);
}

/**
 * Print values as a `---`-separated manifest stream, readable alike by YAML 1.1
 * (go-yaml v2, PyYAML: Helm, kubectl) and 1.2 readers.
 *
 * Input: JSON values (objects, or any value for pass-through documents; `bigint`
 * prints as plain digits). Output: block style, 2-space indent, list dashes at the
 * parent's indentation, no line folding, multi-line strings as literal blocks,
 * and every string (key or value) that a 1.1 reader would type differently
 * double-quoted (as go-yaml v2's encoder does, finding 37). Key order is kept
 * (kustomize sorts keys; readers ignore order). Empty input gives ''.
 * The text is the `yaml` package's (`printManifestsSlow`), printed by
 * yaml-print.ts; a document it does not print (an object occurring twice: an
 * anchor and aliases; values that are not JSON) goes to the `yaml` package.
 * Throws only for values that are not JSON (functions, symbols, cycles).
 */
export function printManifests(values: JsonValue[]): string {
  return values.map(printDocument).join('---\n');
}

/** One document of `printManifests`, without the `---` separator. */
function printDocument(v: JsonValue): string {
  return emitDocument(v) ?? printDocumentSlow(v);
}

/**
 * `printManifests` in pieces: calls `write` with each document's text, in
 * chunks of a few tens of KB (the `---` separator before every document but
 * the first starts its first chunk), so that neither the whole stream's text
 * nor a big document's exists as one string. The concatenated pieces are
 * exactly `printManifests(values)`; a document's first piece is written once
 * the whole document is printed (a document the emitter leaves to the
 * reference printer is written whole). With `release`, each entry of `values`
 * is set to null once printed, so that a caller that owns the array lets the
 * printed objects go (peak memory of `run`).
 */
export function printManifestsTo(values: JsonValue[], write: (chunk: string) => void, release = false): void {
  for (let i = 0; i < values.length; i++) {
    const separator = i === 0 ? '' : '---\n';
    const chunks = emitDocumentChunks(values[i], separator) ?? [separator + printDocumentSlow(values[i])];
    if (release) values[i] = null;
    for (const chunk of chunks) write(chunk);
  }
}

/**
 * Output normalisation kustomize v5.5 applies and nothing else (finding 39, case
 * 173): a top-level `metadata.annotations` that is `{}` or null is dropped
 * (`metadata.labels: {}` and null elsewhere stay). Returns a copy when something
 * changed, else the same value; never mutates its input. Annotations such as
 * Helm 4's `postrenderer.helm.sh/postrender-filename` are ordinary data and stay.
 */
export function normalizeForOutput<T extends JsonValue>(value: T): T {
  if (!isObject(value)) return value;
  const obj: JsonObject = value;
  const md = metadataOf(obj);
  if (!md || !Object.prototype.hasOwnProperty.call(md, 'annotations')) return value;
  const a = md.annotations;
  if (!(a === null || (isObject(a) && Object.keys(a).length === 0))) return value;
  const { annotations: _dropped, ...rest } = md;
  return { ...obj, metadata: rest } as unknown as T;
}
