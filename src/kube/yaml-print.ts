/**
 * Printing JSON values as YAML that YAML 1.1 readers (go-yaml v2, PyYAML: Helm,
 * kubectl) and 1.2 readers read back unchanged.
 *
 * The quoting rule is ours (`isAmbiguousInYaml11`, `NEEDS_ESCAPES`, `doubleQuote`):
 * every string a 1.1 reader would re-type, or that holds a risky character, is
 * double-quoted, as go-yaml v2's encoder does. Everything else (layout, the choice
 * between plain, single- and double-quoted and literal block scalars, chomping
 * and indentation indicators) reproduces, byte for byte, what the `yaml` package
 * 2.x prints for a `Document` with `version: '1.1'` and the options of
 * `printManifests` in yaml-stream.ts (its `stringifyString`, `stringifyPair`,
 * `stringifyCollection` and `stringifyNumber`). That printer stays in yaml-reference-printer.ts
 * as the reference and the fallback: `emitDocument` returns undefined for what it
 * does not print itself (values that are not JSON, an object or array that occurs
 * twice in one document, which the `yaml` package prints as an anchor and aliases,
 * and keys longer than 1024 characters, which it prints as explicit `? ` keys).
 */
import type { JsonObject, JsonValue } from './object.js';

/** Plain scalars go-yaml v2 (resolve.go) reads as bool, null, merge or float specials. */
const YAML11_WORDS = new Set([
  '', '~', 'null', 'Null', 'NULL',
  'y', 'Y', 'yes', 'Yes', 'YES', 'n', 'N', 'no', 'No', 'NO',
  'true', 'True', 'TRUE', 'false', 'False', 'FALSE',
  'on', 'On', 'ON', 'off', 'Off', 'OFF',
  '<<', '=',
]);
/**
 * Plain scalars some YAML 1.1 reader types as a number, date or special:
 * - go-yaml v2: base-0 ints after dropping `_` (`0o10`, `0b1`, `+1_0`),
 *   `yamlStyleFloat`, timestamps `YYYY-...`;
 * - PyYAML: ints `0[0-7_]+`, `0x[0-9a-fA-F_]+`, `0b[01_]+`, sexagesimal
 *   `1:20`, floats `[-+]?[0-9][0-9_]*\.[0-9_]*...`, `.5`, `.inf`, `.nan`,
 *   timestamps, and `=` (the value tag);
 * - the `yaml` package's 1.1 schema (`.`, `-.` are floats there).
 * Deliberately broad: quoting a string needlessly is harmless.
 */
const YAML11_NUMBERISH = [
  /^[-+]?[0-9_]*\.[0-9_]*([eE][-+]?[0-9_]+)?$/, // every decimal float spelling, and `.`, `._`
  /^[-+]?[0-9][0-9_]*([eE][-+]?[0-9_]+)?$/, // decimal and legacy octal ints, `1e3`
  /^[-+]?0[xXoObB][0-9a-fA-F_]*$/, // prefixed ints (even malformed ones: PyYAML crashes on `0x_`)
  /^[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?$/, // sexagesimal
  /^[-+]?\.(inf|Inf|INF|nan|NaN|NAN)$/,
  /^[0-9][0-9][0-9][0-9]-/, // timestamps
];
/**
 * Characters a plain or block scalar must not carry for a YAML 1.1 reader: tabs
 * (PyYAML rejects them in plain scalars), C0/C1 controls, DEL, NEL, LS/PS (line
 * breaks in 1.1), BOM, non-characters and lone surrogates.
 */
// eslint-disable-next-line no-control-regex
export const NEEDS_ESCAPES = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\ufeff\ufffe\uffff\t\r]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * A line of only spaces in a multi-line string. A literal block cannot always
 * hold it: when such lines come first, the reader finds no content line to
 * take the indentation from and drops the spaces (`" \n"` printed as `|+` read
 * back as `"\n"`, by the `yaml` package and go-yaml alike). Such strings are
 * double-quoted instead, by both printers; so is every multi-line document
 * that is a bare string (the `yaml` package prints it as `|1`, which reads
 * back without the leading spaces of its first content line).
 */
export const BLANK_LINE = /(?:^|\n) +(?:\n|$)/;

/** True when a YAML 1.1 reader (go-yaml v2, PyYAML) would read plain `s` as something other than the string `s`. */
export function isAmbiguousInYaml11(s: string): boolean {
  return YAML11_WORDS.has(s) || YAML11_NUMBERISH.some((re) => re.test(s));
}

/** `s` as a one-line double-quoted YAML scalar with every risky character escaped (go-yaml v2 and PyYAML read the escapes). */
export function doubleQuote(s: string): string {
  let out = '"';
  for (const ch of s) out += escapeChar(ch);
  return out + '"';
}

/** Short escapes of doubleQuote. */
const SHORT_ESCAPES: Readonly<Record<string, string>> = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '\t': '\\t', '\r': '\\r' };

/** Line and paragraph separators, byte-order marks, non-characters and lone surrogates: escaped as `\uXXXX`. */
function needsUnicodeEscape(c: number): boolean {
  return c === 0x2028 || c === 0x2029 || c === 0xfeff || c === 0xfffe || c === 0xffff || (c >= 0xd800 && c <= 0xdfff);
}

/** One character (code point) of doubleQuote: itself, a short escape, `\xXX` for C0/C1 controls or `\uXXXX`. */
function escapeChar(ch: string): string {
  const short = SHORT_ESCAPES[ch];
  if (short !== undefined) return short;
  const c = ch.codePointAt(0) as number;
  if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return '\\x' + c.toString(16).padStart(2, '0');
  return needsUnicodeEscape(c) ? '\\u' + c.toString(16).padStart(4, '0') : ch;
}

/**
 * A number as YAML: bigint as plain digits, `.inf`/`-.inf`/`.nan`, `-0`, else the
 * shortest form (`JSON.stringify`), with a dot added to a bare exponent (`1e+21`
 * -> `1.0e+21`: PyYAML's float pattern needs the dot and would read a string).
 */
export function numberText(v: number | bigint): string {
  if (typeof v === 'bigint') return String(v);
  if (!Number.isFinite(v)) return Number.isNaN(v) ? '.nan' : v < 0 ? '-.inf' : '.inf';
  const n = Object.is(v, -0) ? '-0' : JSON.stringify(v);
  return n.replace(/^([-+]?[0-9]+)([eE])/, '$1.0$2');
}

// ---------------------------------------------------------------------------
// The emitter. Each function names the `yaml` package function it reproduces.

/** The tests of the `yaml` package's YAML 1.1 schema tags (null, bool, int, float, sexagesimal, timestamp) a plain string must not match. */
export const YAML_PKG_11_TESTS: readonly RegExp[] = [
  /^(?:~|[Nn]ull|NULL)?$/,
  /^(?:Y|y|[Yy]es|YES|[Tt]rue|TRUE|[Oo]n|ON)$/,
  /^(?:N|n|[Nn]o|NO|[Ff]alse|FALSE|[Oo]ff|OFF)$/,
  /^[-+]?0b[0-1_]+$/,
  /^[-+]?0[0-7_]+$/,
  /^[-+]?[0-9][0-9_]*$/,
  /^[-+]?0x[0-9a-fA-F_]+$/,
  /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/,
  /^[-+]?(?:[0-9][0-9_]*)?(?:\.[0-9_]*)?[eE][-+]?[0-9]+$/,
  /^[-+]?(?:[0-9][0-9_]*)?\.[0-9_]*$/,
  /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+$/,
  /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*$/,
  /^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:(?:t|T|[ \t]+)([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2}(\.[0-9]+)?)(?:[ \t]*(Z|[-+][012]?[0-9](?::[0-9]{2})?))?)?$/,
];
/** `plainString`: what a plain scalar must not start with, contain or end with. */
const PLAIN_INDICATORS = /^[\n\t ,[\]{}#&*!|>'"%@`]|^[?-]$|^[?-][ \t]|[\n:][ \t]|[ \t]\n|[\n\t ]#|[\n\t :]$/;
/** `containsDocumentMarker`. */
const DOCUMENT_MARKER = /^(%|---|\.\.\.)/m;
/** `blockString`'s `blockEndNewlines`. */
const BLOCK_END_NEWLINES = /(^|(?<!\n))\n+(?!\n|$)/g;
/** `doubleQuotedMinMultiLineLength` (default). */
const DQ_MIN_MULTILINE = 40;
const INDENT_STEP = '  ';

interface Ctx {
  /** Indentation of the node's own lines (`ctx.indent`). */
  indent: string;
  implicitKey: boolean;
  /** `ctx.forceBlockIndent`: set for a top-level plain scalar that starts with a document marker. */
  forceBlockIndent: boolean;
}

/** Thrown inside the emitter for what only the `yaml` package prints (caught by `emitDocument`). */
const UNSUPPORTED = Symbol('unsupported');

/** `doubleQuotedString` (`doubleQuotedAsJSON: false`, no folding: `lineWidth: 0`). */
/* eslint-disable complexity, max-depth -- a statement-for-statement port of the yaml package's doubleQuotedString (src/stringify/stringifyString.ts): kept in its shape so it can be compared line by line with the source */
function doubleQuotedString(value: string, ctx: Ctx): string {
  const json = JSON.stringify(value);
  const indent = ctx.indent || (DOCUMENT_MARKER.test(value) ? '  ' : '');
  let str = '';
  let start = 0;
  for (let i = 0, ch = json[i]; ch; ch = json[++i]) {
    if (ch === ' ' && json[i + 1] === '\\' && json[i + 2] === 'n') {
      // space before newline needs to be escaped to not be folded
      str += json.slice(start, i) + '\\ ';
      i += 1;
      start = i;
      ch = '\\';
    }
    if (ch === '\\') {
      switch (json[i + 1]) {
        case 'u': {
          str += json.slice(start, i);
          const code = json.substr(i + 2, 4);
          switch (code) {
            case '0000': str += '\\0'; break;
            case '0007': str += '\\a'; break;
            case '000b': str += '\\v'; break;
            case '001b': str += '\\e'; break;
            case '0085': str += '\\N'; break;
            case '00a0': str += '\\_'; break;
            case '2028': str += '\\L'; break;
            case '2029': str += '\\P'; break;
            default:
              if (code.substr(0, 2) === '00') str += '\\x' + code.substr(2);
              else str += json.substr(i, 6);
          }
          i += 5;
          start = i + 1;
          break;
        }
        case 'n':
          if (ctx.implicitKey || json[i + 2] === '"' || json.length < DQ_MIN_MULTILINE) {
            i += 1;
          } else {
            // folding will eat first newline
            str += json.slice(start, i) + '\n\n';
            while (json[i + 2] === '\\' && json[i + 3] === 'n' && json[i + 4] !== '"') {
              str += '\n';
              i += 2;
            }
            str += indent;
            // space after newline needs to be escaped to not be folded
            if (json[i + 2] === ' ') str += '\\';
            i += 1;
            start = i + 1;
          }
          break;
        default:
          i += 1;
      }
    }
  }
  return start ? str + json.slice(start) : json;
}
/* eslint-enable complexity, max-depth */

/** `singleQuotedString` (`singleQuote: null`, no folding). */
function singleQuotedString(value: string, ctx: Ctx): string {
  if ((ctx.implicitKey && value.includes('\n')) || /[ \t]\n|\n[ \t]/.test(value)) return doubleQuotedString(value, ctx);
  const indent = ctx.indent || (DOCUMENT_MARKER.test(value) ? '  ' : '');
  return "'" + value.replace(/'/g, "''").replace(/\n+/g, `$&\n${indent}`) + "'";
}

/** `quotedString` with `singleQuote: null`: single quotes only for a value with `"` and no `'`. */
function quotedString(value: string, ctx: Ctx): string {
  return value.includes('"') && !value.includes("'") ? singleQuotedString(value, ctx) : doubleQuotedString(value, ctx);
}

/** `blockString` for a `BLOCK_LITERAL` scalar with `blockQuote: 'literal'` and no comment. */
// eslint-disable-next-line complexity -- a statement-for-statement port of the yaml package's blockString (src/stringify/stringifyString.ts), compared line by line with it
function blockString(input: string, ctx: Ctx): string {
  let value = input;
  if (/\n[\t ]+$/.test(value)) return quotedString(value, ctx);
  const indent = ctx.indent || (ctx.forceBlockIndent || DOCUMENT_MARKER.test(value) ? '  ' : '');
  if (!value) return '|\n';
  // determine chomping from whitespace at value end
  let chomp: string;
  let endStart: number;
  for (endStart = value.length; endStart > 0; --endStart) {
    const ch = value[endStart - 1];
    if (ch !== '\n' && ch !== '\t' && ch !== ' ') break;
  }
  let end = value.substring(endStart);
  const endNlPos = end.indexOf('\n');
  if (endNlPos === -1) chomp = '-';
  else if (value === end || endNlPos !== end.length - 1) chomp = '+';
  else chomp = '';
  if (end) {
    value = value.slice(0, -end.length);
    if (end[end.length - 1] === '\n') end = end.slice(0, -1);
    end = end.replace(BLOCK_END_NEWLINES, `$&${indent}`);
  }
  // determine indent indicator from whitespace at value start
  let startWithSpace = false;
  let startEnd: number;
  let startNlPos = -1;
  for (startEnd = 0; startEnd < value.length; ++startEnd) {
    const ch = value[startEnd];
    if (ch === ' ') startWithSpace = true;
    else if (ch === '\n') startNlPos = startEnd;
    else break;
  }
  let start = value.substring(0, startNlPos < startEnd ? startNlPos + 1 : startEnd);
  if (start) {
    value = value.substring(start.length);
    start = start.replace(/\n+/g, `$&${indent}`);
  }
  const header = (startWithSpace ? (indent ? '2' : '1') : '') + chomp;
  value = value.replace(/\n+/g, `$&${indent}`);
  return `|${header}\n${indent}${start}${value}${end}`;
}

/** `plainString` for a one-line string (no `\n`: multi-line strings never get here), `actualString: true`. */
function plainString(value: string, ctx: Ctx): string {
  if (PLAIN_INDICATORS.test(value)) return quotedString(value, ctx);
  if (DOCUMENT_MARKER.test(value)) {
    if (ctx.indent === '') {
      ctx.forceBlockIndent = true;
      return blockString(value, ctx);
    } else if (ctx.implicitKey && ctx.indent === INDENT_STEP) {
      return quotedString(value, ctx);
    }
  }
  for (const re of YAML_PKG_11_TESTS) if (re.test(value)) return quotedString(value, ctx);
  return value;
}

/**
 * Strings that print plain whatever the context, decided without the tests
 * below: a letter, then letters, digits, `_./-` and inner spaces. None of the
 * 1.1 number, timestamp or indicator patterns can match such a string (they
 * start with a digit, sign, dot or indicator, or need `: `, ` #`, a tab or a
 * line break) except the words (`yes`, `Null`, `off`, ...) and the `yaml`
 * package's 1.1 floats without a mantissa (`e5`, `E10`), which are checked.
 * Most keys and values of real manifests are of this shape.
 */
const SAFE_PLAIN = /^[A-Za-z](?:[A-Za-z0-9_./ -]*[A-Za-z0-9_./-])?$/;
const EXPONENT_ONLY = /^[eE][0-9]+$/;

/** True for a string that prints as itself whatever the context (`SAFE_PLAIN`, not a 1.1 word, not a bare exponent). */
function isSafePlain(s: string): boolean {
  return SAFE_PLAIN.test(s) && !YAML11_WORDS.has(s) && !EXPONENT_ONLY.test(s);
}

/**
 * Strings seen to be `isSafePlain` (keys and short values: most repeat across
 * a stream's objects), so that a repeat costs a lookup instead of the tests.
 * Bounded; what it holds changes no output, only how fast it is found.
 */
const SAFE_SEEN = new Set<string>();
const SAFE_SEEN_MAX = 8192;
/** Values longer than this are not remembered (descriptions and the like rarely repeat). */
const SAFE_SEEN_MAX_LENGTH = 48;

/**
 * A string key or value whose lines are indented at `level`: our 1.1 quoting
 * first, then the `yaml` package's choice (yaml11StringTag in
 * yaml-reference-printer.ts).
 */
function stringText(s: string, level: number, implicitKey: boolean): string {
  if (SAFE_SEEN.has(s)) return s;
  if (isSafePlain(s)) {
    if (s.length <= SAFE_SEEN_MAX_LENGTH && SAFE_SEEN.size < SAFE_SEEN_MAX) SAFE_SEEN.add(s);
    return s;
  }
  // A context of its own: `plainString` may set forceBlockIndent for this string.
  return quotedOrBlockText(s, { indent: indentOf(level), implicitKey, forceBlockIndent: false });
}

/** `stringText` for a string that is not `SAFE_PLAIN`. */
function quotedOrBlockText(s: string, ctx: Ctx): string {
  const multiLine = s.includes('\n');
  if (NEEDS_ESCAPES.test(s) || isAmbiguousInYaml11(s) || (multiLine && multiLineNeedsQuotes(s, ctx))) return doubleQuote(s);
  return multiLine ? blockString(s, ctx) : plainString(s, ctx);
}

/** A multi-line string is double-quoted as a key, with a blank line of spaces, or at the top level. */
function multiLineNeedsQuotes(s: string, ctx: Ctx): boolean {
  return ctx.implicitKey || BLANK_LINE.test(s) || ctx.indent === '';
}

function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Levels whose indentation strings are kept (deeper ones are made when needed). */
const CACHED_LEVELS = 64;
/** Per level L: the indentation (`'  '` L times), a line break and it, and that followed by a list dash. */
const INDENTS: string[] = [''];
const BREAKS: string[] = ['\n'];
const BREAK_DASHES: string[] = ['\n- '];
/** Per level L: `:` (a key whose value is a non-empty collection), a line break and the indentation. */
const COLON_BREAKS: string[] = [':\n'];

/** True when level `level` is cached (then made, with the levels above it); false past `CACHED_LEVELS`. */
function cachedLevel(level: number): boolean {
  if (level >= CACHED_LEVELS) return false;
  while (INDENTS.length <= level) {
    const indent = INDENTS[INDENTS.length - 1] + INDENT_STEP;
    INDENTS.push(indent);
    BREAKS.push(`\n${indent}`);
    BREAK_DASHES.push(`\n${indent}- `);
    COLON_BREAKS.push(`:\n${indent}`);
  }
  return true;
}

/** The indentation of level `level`. */
function indentOf(level: number): string {
  return cachedLevel(level) ? INDENTS[level] : INDENT_STEP.repeat(level);
}

/** A line break and the indentation of `level`. */
function breakOf(level: number): string {
  return cachedLevel(level) ? BREAKS[level] : `\n${INDENT_STEP.repeat(level)}`;
}

/** A line break, the indentation of `level` and a list dash. */
function breakDashOf(level: number): string {
  return cachedLevel(level) ? BREAK_DASHES[level] : `\n${INDENT_STEP.repeat(level)}- `;
}

/** `:`, a line break and the indentation of `level`. */
function colonBreakOf(level: number): string {
  return cachedLevel(level) ? COLON_BREAKS[level] : `:\n${INDENT_STEP.repeat(level)}`;
}

/**
 * Pieces per chunk of a document's text: `Array.prototype.join` of a few
 * thousand short strings is ~10 ns a piece, of a few hundred thousand (a big
 * CRD's schema) over 100 ns a piece, and its result and the growing array
 * then sit in the large-object space (fresh pages, each a page fault). A chunk
 * of 4096 pieces is ~20-60 KB of text.
 */
const CHUNK_PIECES = 4096;

/**
 * The emitter of one document: the text's pieces in order, joined once per
 * chunk of `CHUNK_PIECES` pieces (`chunks`, in order; `parts` the current
 * one), so that no string is built per node and per level (`stringify` of the
 * `yaml` package). Indentation is counted in levels of `INDENT_STEP`.
 */
class Emitter {
  parts: string[] = [];
  readonly chunks: string[] = [];
  private readonly seen = new Set<object>();

  /** Ends the current chunk when it holds `CHUNK_PIECES` pieces (called between entries of a collection). */
  private checkChunk(): void {
    if (this.parts.length < CHUNK_PIECES) return;
    this.chunks.push(this.parts.join(''));
    this.parts = [];
  }

  /** The document's text in chunks (the last one ends it); the emitter is done. */
  finish(): string[] {
    if (this.parts.length > 0) this.chunks.push(this.parts.join(''));
    this.parts = [];
    return this.chunks;
  }

  /** `stringify` of one node (`createNode` of a JSON value, then its tag's stringify), its lines indented at `level`. */
  node(v: JsonValue, level: number): void {
    switch (typeof v) {
      case 'string': return void this.parts.push(stringText(v, level, false));
      case 'number':
      case 'bigint': return void this.parts.push(numberText(v));
      case 'boolean': return void this.parts.push(v ? 'true' : 'false');
      case 'object':
        if (v === null) return void this.parts.push('null');
        if (Array.isArray(v)) return this.seq(this.once(v), level);
        return this.map(this.once(v), Object.keys(v), level);
      default:
        throw UNSUPPORTED; // undefined, functions, symbols: not JSON
    }
  }

  /**
   * `v` the first time it is met in the document; a list or map met before
   * (the `yaml` package would print an alias) or a class instance is
   * unsupported.
   */
  private once<T extends JsonValue[] | JsonObject>(v: T): T {
    const size = this.seen.size;
    if (this.seen.add(v).size === size) throw UNSUPPORTED;
    if (!Array.isArray(v) && !isPlainObject(v)) throw UNSUPPORTED;
    return v;
  }

  /** A block sequence (`stringifyCollection` of a YAMLSeq), items at `level + 1`; `[]` when empty; a hole is unsupported. */
  private seq(v: JsonValue[], level: number): void {
    if (v.length === 0) return void this.parts.push('[]');
    for (let i = 0; i < v.length; i++) {
      const item = v[i];
      // A hole reads as undefined, which `node` refuses (not JSON) like a hole.
      if (item === undefined) throw UNSUPPORTED;
      this.parts.push(i === 0 ? '- ' : breakDashOf(level));
      this.node(item, level + 1);
      this.checkChunk();
    }
  }

  /** A block mapping (`stringifyCollection` of a YAMLMap) with its keys `keys`; `{}` when empty. */
  private map(obj: JsonObject, keys: string[], level: number): void {
    if (keys.length === 0) return void this.parts.push('{}');
    for (let i = 0; i < keys.length; i++) {
      if (i > 0) this.parts.push(breakOf(level));
      this.pair(keys[i], obj[keys[i]], level);
      this.checkChunk();
    }
  }

  /**
   * `stringifyPair` for a string key (never explicit: longer keys are
   * unsupported) of a map at `level`, in block context, `indentSeq: false`.
   */
  private pair(key: string, value: JsonValue, level: number): void {
    const k = stringText(key, level + 1, true);
    if (k.length > 1024) throw UNSUPPORTED;
    this.parts.push(k);
    if (typeof value !== 'object' || value === null) {
      this.parts.push(': ');
      return this.node(value, level + 1);
    }
    // An empty collection prints as flow `[]`/`{}` on the key's line; others start on the next line.
    if (Array.isArray(value)) {
      // With indentSeq false, '- ' counts as indentation: a list sits at its key's column.
      this.parts.push(value.length === 0 ? ': ' : colonBreakOf(level));
      return this.seq(this.once(value), level);
    }
    const keys = Object.keys(value);
    this.parts.push(keys.length === 0 ? ': ' : colonBreakOf(level + 1));
    this.map(this.once(value), keys, level + 1);
  }
}

/**
 * One document of `printManifests` (without the `---` separator), byte for byte
 * what the `yaml` package prints (see the module comment), or undefined when the
 * value is one the `yaml` package must print: not JSON (undefined, functions,
 * class instances, sparse arrays), an object or array occurring twice, or a key
 * longer than 1024 characters once quoted. `prefix` (default none) comes
 * first in the returned text.
 */
export function emitDocument(value: JsonValue, prefix = ''): string | undefined {
  const chunks = emitDocumentChunks(value, prefix);
  return chunks === undefined ? undefined : chunks.length === 1 ? chunks[0] : chunks.join('');
}

/**
 * `emitDocument` in chunks of a few tens of KB, in order (their concatenation
 * is `emitDocument(value, prefix)`), or undefined as `emitDocument`. The
 * `printManifestsTo` separator `prefix` is the start of the first chunk.
 */
export function emitDocumentChunks(value: JsonValue, prefix = ''): string[] | undefined {
  const e = new Emitter();
  if (prefix !== '') e.parts.push(prefix);
  try {
    e.node(value, 0);
  } catch (err) {
    if (err === UNSUPPORTED) return undefined;
    throw err;
  }
  e.parts.push('\n');
  return e.finish();
}
