/**
 * The line reader: a first try of the fast manifest reader (yaml-fast-reader.ts)
 * for the block YAML that Helm, kubectl and kustomize print. It reads a stream
 * line by line, with the string searches of the engine (`indexOf`, `slice`)
 * instead of js-yaml's character-by-character state machine, which a one-shot
 * process (`kube-postrender run`) runs mostly before the JIT has warmed up:
 * argo-cd's install.yaml (1.9 MB) reads in a fraction of js-yaml's time
 * (docs/performance.md, "Session 9").
 *
 * It reads only a strict subset and gives up (undefined: js-yaml then reads the
 * stream, as before) on everything else, so that what it returns is always what
 * js-yaml with the fast reader's schema returns:
 *
 * - documents: `---` lines (nothing else on them), full-line comments, blank
 *   lines; a root that is a block mapping or sequence at column 0;
 * - block mappings whose keys are plain and of the characters
 *   `[A-Za-z0-9_./-]` (a key is its text, as js-yaml with our schema keeps it),
 *   no duplicates, no `__proto__`; block sequences (`- ` items, also at their
 *   key's column), an item holding a compact mapping (`- key: value`);
 * - scalars: plain (on one or more lines, folded as YAML folds them, typed by
 *   `resolvePlainScalar` like the fast reader's schema), single-quoted (also on
 *   several lines), double-quoted on one line without escapes, literal blocks
 *   `|` and `|-`, and the empty flow collections `[]` and `{}`.
 *
 * It gives up on empty nodes (so empty nulls never need recording), anchors,
 * aliases, tags, other flow collections, folded and `|+` blocks, escapes, tabs,
 * CRs, comments after content, indentation it does not expect, and nesting past
 * `MAX_DEPTH`; a text not ending with a line break, and every text
 * `needsReferenceReader` (yaml-fast-reader.ts) sends to the reference reader,
 * never get here. test/kube/yaml-line-reader.test.ts checks it against the
 * fast reader's js-yaml path on the corpus, the conformance inputs and
 * generated streams.
 */
import type { JsonObject, JsonValue } from './object.js';
import { resolvePlainScalar } from './yaml-scalars.js';

/** Thrown inside the reader to give up (caught by `readLineStream`). */
const GIVE_UP = Symbol('give up');

/** Nesting past this many collections gives up (js-yaml refuses past 100 levels, and then the reference reader decides). */
const MAX_DEPTH = 64;

/** A key the line reader takes: plain text that every YAML reader reads as that text, never a merge key or an indicator. */
const SIMPLE_KEY = /^[A-Za-z0-9_][A-Za-z0-9_./-]*$/;

/**
 * Characters js-yaml refuses anywhere in the input (its `PATTERN_NON_PRINTABLE`,
 * js-yaml 4 loader.js), and a few more: control characters other than tab and
 * line feed (NEL too), lone surrogates, U+FFFE and U+FFFF.
 */
const NON_PRINTABLE = /[^\P{Cc}\t\n]|[\p{Cs}\uFFFE\uFFFF]/u;

const SPACE = 0x20;
const HASH = 0x23;
const DASH = 0x2d;

/**
 * The lines of `text` (split at `\n`) as offsets, in one pass over the flat
 * text: `starts[k]` where line k starts (`starts[count]` one past the text's
 * end) and `indents[k]` its leading spaces (its length when it holds only
 * spaces). No string per line is kept: lines are sliced when read.
 */
function lineOffsets(text: string): { starts: Int32Array; indents: Int32Array; count: number } {
  let count = 1;
  for (let p = text.indexOf('\n'); p >= 0; p = text.indexOf('\n', p + 1)) count++;
  const starts = new Int32Array(count + 1);
  const indents = new Int32Array(count);
  let start = 0;
  for (let k = 0; k < count; k++) {
    starts[k] = start;
    let p = start;
    while (text.charCodeAt(p) === SPACE) p++;
    indents[k] = p - start;
    const nl = text.indexOf('\n', p);
    start = nl < 0 ? text.length + 1 : nl + 1;
  }
  starts[count] = text.length + 1;
  return { starts, indents, count };
}

/** A `- ` (or a lone `-`) at column `n` of `line`. */
function isDashAt(line: string, n: number): boolean {
  if (line.charCodeAt(n) !== DASH) return false;
  const next = line.charCodeAt(n + 1);
  return next === SPACE || Number.isNaN(next);
}

/** `line` without trailing spaces. */
function trimEndSpaces(line: string): string {
  let end = line.length;
  while (end > 0 && line.charCodeAt(end - 1) === SPACE) end--;
  return end === line.length ? line : line.slice(0, end);
}

/** The text of a plain scalar line, or a give-up when a comment, a `: ` or a trailing `:` could make it something else. */
function plainLine(t: string): string {
  if (t.includes(': ') || t.endsWith(':') || t.includes(' #')) throw GIVE_UP;
  return t;
}

/** The column of the `:` ending a simple key at column `n`, or -1 when the line holds no simple key there. */
function keyColon(line: string, n: number): number {
  const c = line.indexOf(':', n);
  if (c <= n) return -1;
  const after = line.charCodeAt(c + 1);
  if (!(after === SPACE || Number.isNaN(after))) return -1;
  return SIMPLE_KEY.test(line.slice(n, c)) ? c : -1;
}

/** One read: the stream's lines (as offsets, `lineOffsets`) and the position in them. */
class LineReader {
  private readonly starts: Int32Array;
  /** `indents[k]`: the leading spaces of line k. */
  private readonly indents: Int32Array;
  /** The number of lines. */
  private readonly count: number;
  private i = 0;
  private depth = 0;

  constructor(private readonly text: string) {
    ({ starts: this.starts, indents: this.indents, count: this.count } = lineOffsets(text));
  }

  /** The length of line `k`. */
  private len(k: number): number {
    return this.starts[k + 1] - this.starts[k] - 1;
  }

  /** The text of line `k` from column `from`. */
  private line(k: number, from = 0): string {
    return this.text.slice(this.starts[k] + from, this.starts[k + 1] - 1);
  }

  /** True when line `k` holds only spaces (or nothing). */
  private isBlank(k: number): boolean {
    return this.indents[k] === this.len(k);
  }

  /** True when line `k` is `---` and nothing else. */
  private isMarker(k: number): boolean {
    return this.len(k) === 3 && this.text.startsWith('---', this.starts[k]);
  }

  /** The documents, one per js-yaml document (null for an empty one), in stream order. */
  stream(): (JsonValue | null)[] {
    const docs: (JsonValue | null)[] = [];
    // The document open is explicit (after a `---`): it counts even when empty.
    let explicit = false;
    for (this.skipInsignificant(); this.i < this.count; this.skipInsignificant()) {
      if (this.isMarker(this.i)) {
        if (explicit) docs.push(null);
        explicit = true;
        this.i++;
      } else {
        docs.push(this.root());
        explicit = false;
      }
    }
    if (explicit) docs.push(null);
    return docs;
  }

  /** A document's root: a block collection at column 0, then only a `---` line or the end. */
  private root(): JsonValue {
    const line = this.line(this.i);
    if (line.charCodeAt(0) === SPACE || line.startsWith('---') || line.startsWith('...')) throw GIVE_UP;
    const v = this.block(0);
    this.skipInsignificant();
    if (this.i < this.count && !this.isMarker(this.i)) throw GIVE_UP;
    return v;
  }

  /** Skips blank lines and full-line comments. */
  private skipInsignificant(): void {
    const { indents } = this;
    while (this.i < this.count) {
      const n = indents[this.i];
      if (n !== this.len(this.i) && this.text.charCodeAt(this.starts[this.i] + n) !== HASH) return;
      this.i++;
    }
  }

  /** The block collection whose first line is the current one, at column `n`. */
  private block(n: number): JsonValue {
    if (++this.depth > MAX_DEPTH) throw GIVE_UP;
    const v = isDashAt(this.line(this.i), n) ? this.sequence(n) : this.mapping(n, false);
    this.depth--;
    return v;
  }

  /** A block mapping at column `n`; with `inline`, its first entry is on the current line after a `- `. */
  private mapping(n: number, inline: boolean): JsonObject {
    const obj: JsonObject = {};
    if (inline) this.entry(obj, this.line(this.i), n);
    for (;;) {
      this.skipInsignificant();
      if (this.i >= this.count) return obj;
      const line = this.line(this.i);
      const ind = this.indents[this.i];
      if (ind < n || (n === 0 && line.charCodeAt(0) === DASH && line.startsWith('---'))) return obj;
      if (ind > n || isDashAt(line, n)) throw GIVE_UP;
      this.entry(obj, line, n);
    }
  }

  /** One `key: value` of a mapping at column `n`, its key at column `n` of `line`. */
  private entry(obj: JsonObject, line: string, n: number): void {
    const c = keyColon(line, n);
    if (c < 0) throw GIVE_UP;
    const key = line.slice(n, c);
    if (key === '__proto__' || Object.hasOwn(obj, key)) throw GIVE_UP;
    let p = c + 1;
    while (line.charCodeAt(p) === SPACE) p++;
    obj[key] = p < line.length ? this.scalar(line, p, n) : this.blockValue(n);
  }

  /** The value of a key at column `n` with nothing after its `:`: a block collection below it (a sequence may sit at the key's column). */
  private blockValue(n: number): JsonValue {
    this.i++;
    this.skipInsignificant();
    if (this.i >= this.count) throw GIVE_UP;
    const line = this.line(this.i);
    const ind = this.indents[this.i];
    if (ind > n) return this.block(ind);
    if (ind === n && isDashAt(line, n)) return this.block(n);
    throw GIVE_UP; // an empty node
  }

  /** A block sequence at column `n`. */
  private sequence(n: number): JsonValue[] {
    const items: JsonValue[] = [];
    for (;;) {
      this.skipInsignificant();
      if (this.i >= this.count) return items;
      const line = this.line(this.i);
      const ind = this.indents[this.i];
      if (ind < n) return items;
      if (ind > n) throw GIVE_UP;
      if (!isDashAt(line, n)) return items;
      items.push(this.item(line, n));
    }
  }

  /** One `- ` item of a sequence at column `n`. */
  private item(line: string, n: number): JsonValue {
    let p = n + 1;
    while (line.charCodeAt(p) === SPACE) p++;
    if (p >= line.length || isDashAt(line, p)) throw GIVE_UP;
    if (keyColon(line, p) < 0) {
      const v = this.scalar(line, p, n);
      // With empty nulls recorded, the fast reader marks the map above a list holding a null (empty-nulls.ts `leadsToEmptyNull`).
      if (v === null) throw GIVE_UP;
      return v;
    }
    if (++this.depth > MAX_DEPTH) throw GIVE_UP;
    const m = this.mapping(p, true);
    this.depth--;
    return m;
  }

  /**
   * The scalar (or empty flow collection) starting at column `p` of `line`,
   * the current line, in a node at column `n`: continuation lines of a plain
   * scalar and the lines of a literal block must be indented past `n`.
   */
  private scalar(line: string, p: number, n: number): JsonValue {
    const t = trimEndSpaces(line.slice(p));
    if (t.includes('\t')) throw GIVE_UP;
    let v: JsonValue;
    switch (t.charCodeAt(0)) {
      case 0x22: v = doubleQuoted(t); break; // "
      case 0x27: return this.singleQuoted(t, n); // '
      case 0x7c: return this.literal(t, n); // |
      case 0x5b: v = flowEmpty(t, '[]', []); break; // [
      case 0x7b: v = flowEmpty(t, '{}', {}); break; // {
      default:
        if (isIndicator(t)) throw GIVE_UP;
        return this.plain(t, n);
    }
    this.i++;
    this.checkNothingMoreIndented(n);
    return v;
  }

  /** Gives up when the next line that is not blank is indented past `n` (js-yaml reads it as an error or as more of the node). */
  private checkNothingMoreIndented(n: number): void {
    for (let j = this.i; j < this.count; j++) {
      if (this.isBlank(j)) continue;
      if (this.indents[j] > n) throw GIVE_UP;
      return;
    }
  }

  /** A plain scalar: its first line `t`, then the lines indented past `n`, folded (a line break is a space, k blank lines are k line breaks). */
  private plain(t: string, n: number): JsonValue {
    let text = plainLine(t);
    this.i++;
    let blank = 0;
    for (let j = this.i; j < this.count; j++) {
      const ind = this.indents[j];
      if (this.isBlank(j)) {
        blank++;
        continue;
      }
      if (ind <= n) break;
      if (this.text.charCodeAt(this.starts[j] + ind) === HASH) throw GIVE_UP;
      const more = trimEndSpaces(this.line(j, ind));
      if (more.includes('\t')) throw GIVE_UP;
      text += (blank === 0 ? ' ' : '\n'.repeat(blank)) + plainLine(more);
      blank = 0;
      this.i = j + 1;
    }
    return resolvePlainScalar(text);
  }

  /**
   * A single-quoted scalar starting the current line's text `t` (spaces at
   * its end removed), in a node at column `n`: it ends with the line that
   * closes it; lines after the first are indented past `n`, folded as in a
   * plain scalar (spaces around a line break dropped, a break read as a
   * space, k blank lines as k breaks). Text after the closing quote gives up.
   */
  private singleQuoted(t: string, n: number): string {
    let rest = t.slice(1);
    let text = '';
    let sep = ''; // before the first line: none
    for (let j = this.i; ; ) {
      if (rest.includes('\t')) throw GIVE_UP;
      const close = closingQuote(rest);
      if (close >= 0) {
        if (close !== rest.length - 1) throw GIVE_UP;
        this.i = j + 1;
        this.checkNothingMoreIndented(n);
        return text + sep + unquote(rest.slice(0, close));
      }
      text += sep + unquote(rest);
      const blank = this.blankRun(j + 1);
      j += blank + 1;
      if (j >= this.count || this.indents[j] <= n) throw GIVE_UP;
      sep = blank === 0 ? ' ' : '\n'.repeat(blank);
      rest = trimEndSpaces(this.line(j, this.indents[j]));
    }
  }

  /** The number of blank lines from line `j` on. */
  private blankRun(j: number): number {
    let k = j;
    while (k < this.count && this.isBlank(k)) k++;
    return k - j;
  }

  /** A literal block scalar (`|` or `|-`) whose header `t` is on the current line, in a node at column `n`. */
  private literal(t: string, n: number): string {
    if (t !== '|' && t !== '|-') throw GIVE_UP;
    let j = this.i + 1;
    while (j < this.count && this.len(j) === 0) j++;
    // Blank lines first: empty ones only (spaces there would need the indentation of the first content line).
    if (j >= this.count || this.isBlank(j) || this.indents[j] <= n) throw GIVE_UP;
    const content: string[] = new Array<string>(j - this.i - 1).fill('');
    this.i = this.literalLines(j, this.indents[j], content);
    this.checkNothingMoreIndented(n);
    const text = content.join('\n');
    return t === '|' ? text + '\n' : text;
  }

  /**
   * Appends to `content` the lines of a literal block from line `j` on, less
   * their `indent` spaces: blank lines between them as empty lines, trailing
   * ones dropped (clip and strip chomping). Returns the index of the first
   * line after the block (a non-blank line indented less than `indent`).
   */
  private literalLines(j: number, indent: number, content: string[]): number {
    const { indents } = this;
    let blank = 0;
    for (; j < this.count; j++) {
      if (this.isBlank(j)) {
        if (this.len(j) > indent) throw GIVE_UP; // spaces past the indentation: content of spaces
        blank++;
      } else if (indents[j] < indent) {
        return j;
      } else {
        for (; blank > 0; blank--) content.push('');
        content.push(this.line(j, indent));
      }
    }
    return j;
  }
}

/** A one-line double-quoted scalar without escapes. */
function doubleQuoted(t: string): string {
  if (t.length < 2 || t.charCodeAt(t.length - 1) !== 0x22) throw GIVE_UP;
  const inner = t.slice(1, -1);
  if (inner.includes('"') || inner.includes('\\')) throw GIVE_UP;
  return inner;
}

/** The index of the quote closing a single-quoted scalar in `s` (a `'` not doubled), or -1. */
function closingQuote(s: string): number {
  for (let k = s.indexOf("'"); k >= 0; k = s.indexOf("'", k + 2)) {
    if (s.charCodeAt(k + 1) !== 0x27) return k;
  }
  return -1;
}

/** `s` with each `''` read as one quote. */
function unquote(s: string): string {
  return s.includes("'") ? s.replace(/''/g, "'") : s;
}

/** `[]` or `{}` exactly (other flow collections give up). */
function flowEmpty(t: string, text: string, value: JsonValue): JsonValue {
  if (t !== text) throw GIVE_UP;
  return value;
}

/** A scalar starting with a YAML indicator (`- `, a lone `-`, `?`, `:`, `#`, `&`, `*`, `!`, `>`, `%`, `@`, `` ` ``, `,`, `]`, `}`): not plain text here, or an error. */
function isIndicator(t: string): boolean {
  if (t.charCodeAt(0) === DASH) return t.length === 1 || t.charCodeAt(1) === SPACE;
  return '?:#&*!>%@`,]}'.includes(t[0]);
}

/**
 * The documents of `text` (one per js-yaml document, null for an empty one),
 * or undefined when the text is not of the subset this reader takes (see the
 * module comment). Never throws. `text` must have passed the fast reader's
 * `needsReferenceReader` (it does not repeat those checks).
 */
export function readLineStream(text: string): (JsonValue | null)[] | undefined {
  if (!text.endsWith('\n') || text.includes('\r') || NON_PRINTABLE.test(text)) return undefined;
  try {
    return new LineReader(text).stream();
  } catch (e) {
    if (e === GIVE_UP) return undefined;
    throw e;
  }
}
