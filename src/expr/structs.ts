/**
 * Literal syntax the engine's parser does not read, rewritten before parsing:
 *
 * - Struct literals of MutatingAdmissionPolicy expressions (`Object{spec:
 *   Object.spec{replicas: 1}}`, `JSONPatch{op: 'add', path: '/x', value: 1}`)
 *   become map literals whose values are `dyn(...)` (so mixed field types pass
 *   the homogeneous-literal check) and whose keys are the field names. The
 *   result is a plain JSON map, as the API server turns these objects into JSON
 *   (apply configuration or patch operations).
 * - Optional entries (cel-go's optional syntax, which Kubernetes enables with
 *   `cel.OptionalTypes()` since 1.28: environment/base.go): `{?k: v}` and
 *   `[?e]` in map and list literals, `Object{?f: v}` in struct literals. The
 *   value becomes an argument of an internal function (OPTIONAL_ENTRY,
 *   OPTIONAL_FIELD) that only types it: `optional<A>` in, A (or dyn for a
 *   struct field) out, so the checker sees what cel-go's `checkCreateList` /
 *   `checkCreateMap` see (the optional's parameter). cel.ts evaluates such a
 *   literal itself: the entry is left out when the optional is empty.
 *
 * The rewrite keeps every character offset before the first rewritten token;
 * positions after it may shift by the added quotes and wrappers.
 */

/** Type names allowed in struct literals: `Object`, `Object.<field>...`, `JSONPatch`. */
const STRUCT_TYPE = /^(Object(\.[A-Za-z_][A-Za-z0-9_]*)*|JSONPatch)$/;

interface Token {
  kind: 'ident' | 'string' | 'punct' | 'other';
  text: string;
  start: number;
}

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const str = /^(?:[rR]?[bB]?|[bB]?[rR]?)("""[\s\S]*?"""|'''[\s\S]*?'''|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')/.exec(src.slice(i));
    if (str && str[0].length > 0 && /['"]/.test(str[0])) {
      out.push({ kind: 'string', text: str[0], start: i });
      i += str[0].length;
      continue;
    }
    const id = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i));
    if (id) {
      out.push({ kind: 'ident', text: id[0], start: i });
      i += id[0].length;
      continue;
    }
    out.push({ kind: '{}(),:.[]?'.includes(c) ? 'punct' : 'other', text: c, start: i });
    i++;
  }
  return out;
}

/**
 * The internal function an optional entry or element of a map or list literal
 * becomes (`{?k: v}` -> `{k: OPTIONAL_ENTRY(v)}`, `[?e]` -> `[OPTIONAL_ENTRY(e)]`):
 * `optional<A>` to A. Never written by users (refused when it is).
 */
export const OPTIONAL_ENTRY = '__kpr_optional_entry';

/** The same for a struct literal's optional field (`Object{?f: v}` -> `{'f': OPTIONAL_FIELD(v)}`): `optional<A>` to dyn, as struct fields are dyn(...). */
export const OPTIONAL_FIELD = '__kpr_optional_field';

/**
 * The internal function each element of the list literal that is a string
 * `format` call's argument becomes (`'%s %d'.format([a, 1])` ->
 * `'%s %d'.format([FORMAT_ARG(a), FORMAT_ARG(1)])`): any type to dyn, free,
 * the value itself. cel-go's homogeneous-literal validator, which Kubernetes
 * enables, skips literals in string format calls ("the string format call
 * relies on a mixed element type list": cel-go validator.go
 * ValidateHomogeneousAggregateLiterals); our check (literal-types.ts) has no
 * such exception, so the elements are made `dyn`, which joins any type.
 */
export const FORMAT_ARG = '__kpr_format_arg';

const RESERVED: ReadonlySet<string> = new Set([OPTIONAL_ENTRY, OPTIONAL_FIELD, FORMAT_ARG]);

/** A string `format` call with a list literal argument may be in the text. */
const FORMAT_CALL = /\.\s*format\s*\(\s*\[/;

/** What `rewriteLiterals` rewrites: struct literals only for MutatingAdmissionPolicy expressions; optional entries and `format` arguments always. */
export interface LiteralRewriteOptions {
  structs: boolean;
}

/** A rewritten text, and the offset in the source of an offset in it (for error positions). */
export interface RewrittenText {
  text: string;
  /** The source offset of text offset `at`: inside added text, the source text right after it. */
  sourceOffset(at: number): number;
}

/**
 * Rewrites struct literals (when `opts.structs`), optional entries and
 * `format` argument lists of `src` (see the top of this file): the text, and
 * the map of its offsets back to `src`. `fail(message, offset)` builds the error
 * thrown for an unknown type name, a malformed struct literal, or a reserved
 * internal name written in the expression. Anything else malformed is left
 * for the engine's parser to report.
 */
export function rewriteLiterals(src: string, opts: LiteralRewriteOptions, fail: (message: string, offset: number) => Error): RewrittenText {
  const structs = opts.structs && src.includes('{');
  if (!structs && !src.includes('?') && !src.includes('__kpr_') && !FORMAT_CALL.test(src)) return { text: src, sourceOffset: (at) => at };
  const r = new LiteralRewriter(src, tokenize(src), opts, fail);
  const text = r.run();
  return { text, sourceOffset: (at) => r.sourceOffset(at) };
}

/**
 * An open brace, paren or bracket. `struct`: a struct literal; `map`, `list`:
 * literals; `group`: parens and index brackets (their commas belong to no
 * literal).
 */
interface Frame {
  kind: 'struct' | 'map' | 'list' | 'group';
  /** list: the argument of a string `format` call (its elements are wrapped in FORMAT_ARG). */
  format?: boolean;
  /** At the start of an entry, element or field (right after the opening token or a `,`). */
  atStart: boolean;
  /** A wrapper (`dyn(`, OPTIONAL_ENTRY(, OPTIONAL_FIELD( or FORMAT_ARG() is open around the current value: `)` before the next `,` or the close. */
  wrapped: boolean;
  /** map: the current entry is optional and its key is being read (its `:` opens the wrapper). */
  optionalKey: boolean;
  /** map: ternary `?`s read in the current key whose `:` has not come yet. */
  ternaries: number;
}

function frame(kind: Frame['kind']): Frame {
  return { kind, atStart: true, wrapped: false, optionalKey: false, ternaries: 0 };
}

/** One rewrite: copies `src` through, replacing literal syntax token by token. */
class LiteralRewriter {
  private out = '';
  /** Offset in `src` up to which the text is in `out`. */
  private last = 0;
  private readonly stack: Frame[] = [];

  constructor(
    private readonly src: string,
    private readonly toks: Token[],
    private readonly opts: LiteralRewriteOptions,
    private readonly fail: (message: string, offset: number) => Error,
  ) {}

  /** Segments of `out`: [start in out, start in src, copied (else added by the rewrite)], in order. */
  private readonly segments: [number, number, boolean][] = [[0, 0, true]];

  run(): string {
    for (let k = 0; k < this.toks.length; k++) k = this.step(k);
    return this.out + this.src.slice(this.last);
  }

  /** The source offset of output offset `at` (RewrittenText.sourceOffset): copied text maps one to one, added text to the source text after it. */
  sourceOffset(at: number): number {
    let i = this.segments.length - 1;
    while (i > 0 && (this.segments[i] as [number, number, boolean])[0] > at) i--;
    const [out, src, copied] = this.segments[i] as [number, number, boolean];
    return copied ? src + (at - out) : src;
  }

  /** Handles token `k`; returns the index of the last token it consumed. */
  private step(k: number): number {
    const t = this.toks[k];
    const top = this.top();
    this.beforeToken(t, top);
    if (t.kind === 'punct') return this.punct(k);
    if (top?.kind === 'struct' && top.atStart && this.isFieldName(k)) return this.fieldName(k, false);
    if (top) top.atStart = false;
    return k;
  }

  /** What any token `t` does first: a reserved internal name is refused; the first token of a `format` argument's element opens its wrapper. */
  private beforeToken(t: Token, top: Frame | undefined): void {
    if (t.kind === 'ident' && RESERVED.has(t.text)) throw this.fail(`undeclared reference to '${t.text}'`, t.start);
    if (top?.format && top.atStart) this.openFormatArg(t, top);
  }

  /** A punctuation token at `k` (see `step`). */
  private punct(k: number): number {
    const t = this.toks[k];
    if (t.text === '?') return this.question(k);
    if (t.text === '[') this.openBracket(k);
    else if (t.text === '(') this.stack.push(frame('group'));
    else if (t.text === ']' || t.text === ')') this.closeGroup(t);
    else this.braceCommaColon(k);
    return k;
  }

  /** `{`, `}`, `,`, `:` or `.` at `k` (see `step`). */
  private braceCommaColon(k: number): void {
    const t = this.toks[k];
    if (t.text === '{') this.openBrace(k);
    else if (t.text === '}') this.closeBrace(t);
    else if (t.text === ',') this.comma(t);
    else if (t.text === ':') this.colon(k);
    else this.notAtStart();
  }

  /** `[`: an index, or a list literal (the argument of a string `format` call when it directly follows `.format(`). */
  private openBracket(k: number): void {
    if (this.isIndex(k)) {
      this.stack.push(frame('group'));
      return;
    }
    const list = frame('list');
    const t = this.toks;
    list.format = t[k - 1]?.text === '(' && t[k - 2]?.text === 'format' && t[k - 3]?.text === '.';
    this.stack.push(list);
  }

  /** The first token `t` of an element of a `format` argument list: the element is wrapped in FORMAT_ARG (an optional element, `?`, is question's; `,` and `]` start none). */
  private openFormatArg(t: Token, top: Frame): void {
    if (t.text === '?' || t.text === ',' || t.text === ']') return;
    this.emit(t.start, `${FORMAT_ARG}(`, t.start);
    top.wrapped = true;
    top.atStart = false;
  }

  private notAtStart(): void {
    const top = this.top();
    if (top) top.atStart = false;
  }

  private top(): Frame | undefined {
    return this.stack[this.stack.length - 1];
  }

  /** Appends `src` up to `until`, then `text`; the copy resumes at `resume`. */
  private emit(until: number, text: string, resume: number): void {
    this.out += this.src.slice(this.last, until);
    const added = this.out.length;
    this.out += text;
    this.last = resume;
    // the added text maps to `resume` (a wrapper's error points at what it wraps); the copy resumes there
    this.segments.push([added, resume, false], [this.out.length, resume, true]);
  }

  /** `Name{` opens a struct literal (`{`, the name dropped; structs only), any other `{` a map literal. */
  private openBrace(k: number): void {
    const outer = this.top();
    if (outer) outer.atStart = false;
    const start = this.opts.structs ? this.structNameStart(k) : undefined;
    if (start === undefined) {
      this.stack.push(frame('map'));
      return;
    }
    const name = this.toks.slice(start, k).map((x) => x.text).join('');
    if (!STRUCT_TYPE.test(name)) throw this.fail(`undeclared reference to '${name}' (struct literals: Object, Object.<field>, JSONPatch)`, this.toks[start].start);
    this.emit(this.toks[start].start, '{', this.toks[k].start + 1);
    this.stack.push(frame('struct'));
  }

  /** The first token of the dotted name right before the `{` at `k` (`Object.spec`), or undefined when none stands there (or it follows a `.`: a field selection). */
  private structNameStart(k: number): number | undefined {
    const toks = this.toks;
    const nameEnd = k - 1;
    if (nameEnd < 0 || toks[nameEnd].kind !== 'ident') return undefined;
    let j = nameEnd;
    while (j >= 2 && toks[j].kind === 'ident' && toks[j - 1].text === '.' && toks[j - 2].kind === 'ident') j -= 2;
    return j > 0 && toks[j - 1].text === '.' ? undefined : j;
  }

  /**
   * True when the `[` at `k` indexes (`a[0]`, `m[?k]`, `f()[1]`): it follows
   * an operand's end (an identifier other than `in`, a string, a digit, `)`,
   * `]`, `}`). Else it opens a list literal.
   */
  private isIndex(k: number): boolean {
    const prev = this.toks[k - 1];
    if (prev === undefined) return false;
    if (prev.kind === 'ident') return prev.text !== 'in';
    if (prev.kind === 'string') return true;
    if (prev.kind === 'other') return /[0-9]/.test(prev.text);
    return prev.text === ')' || prev.text === ']' || prev.text === '}';
  }

  /** `}`: closes a struct or map literal, and the wrapper of its last value. */
  private closeBrace(t: Token): void {
    const top = this.top();
    if (top?.kind !== 'struct' && top?.kind !== 'map') return;
    this.stack.pop();
    if (top.wrapped) this.emit(t.start, ')', t.start);
  }

  /** `)` or `]`: closes a group or a list literal (and the wrapper of its last element). */
  private closeGroup(t: Token): void {
    const top = this.top();
    if (top?.kind !== 'group' && top?.kind !== 'list') return;
    this.stack.pop();
    if (top.wrapped) this.emit(t.start, ')', t.start);
  }

  /** A field name ahead at `k` in a struct literal: `name:`. */
  private isFieldName(k: number): boolean {
    return this.toks[k].kind === 'ident' && this.toks[k + 1]?.text === ':';
  }

  /** `name:` (or `?name:` when `optional`, `k` at `name`) in a struct literal: `'name': dyn(` or `'name': OPTIONAL_FIELD(`. Consumes the `:`. */
  private fieldName(k: number, optional: boolean): number {
    const t = this.toks[k];
    const from = optional ? this.toks[k - 1].start : t.start;
    this.emit(from, `'${t.text}': ${optional ? OPTIONAL_FIELD : 'dyn'}(`, this.toks[k + 1].start + 1);
    const top = this.top() as Frame;
    top.atStart = false;
    top.wrapped = true;
    return k + 1;
  }

  /** `,`: in a literal, closes the value's wrapper; the next entry starts. */
  private comma(t: Token): void {
    const top = this.top();
    if (top === undefined || top.kind === 'group') return;
    if (top.wrapped) this.emit(t.start, ')', t.start);
    Object.assign(top, frame(top.kind));
  }

  /**
   * `?`: at the start of a map entry, the entry is optional (the `?` dropped;
   * the wrapper opens at the key's `:`); at the start of a list element, the
   * element is optional (the `?` becomes `OPTIONAL_ENTRY(`); before a struct
   * field name, the field is optional. Elsewhere (a ternary, `.?f`, `[?k]`)
   * it is the engine's: a ternary in an optional entry's key is counted so
   * its `:` is not taken for the entry's.
   */
  private question(k: number): number {
    const top = this.top();
    if (top === undefined) return k;
    if (top.atStart) {
      const consumed = this.optionalMarker(k, top);
      if (consumed !== undefined) return consumed;
    }
    top.atStart = false;
    // `.?f` selects a field; any other `?` in an optional entry's key is a ternary's.
    if (top.optionalKey && this.toks[k - 1]?.text !== '.') top.ternaries++;
    return k;
  }

  /** The `?` at `k` starting an entry of `top`: rewritten as an optional entry (see `question`); the last token consumed, or undefined when it is no marker. */
  private optionalMarker(k: number, top: Frame): number | undefined {
    const t = this.toks[k];
    if (top.kind === 'map') {
      this.emit(t.start, '', t.start + 1);
      top.atStart = false;
      top.optionalKey = true;
      return k;
    }
    if (top.kind === 'list') {
      // in a `format` argument list the other elements are dyn: so is an optional one (OPTIONAL_FIELD)
      this.emit(t.start, `${top.format ? OPTIONAL_FIELD : OPTIONAL_ENTRY}(`, t.start + 1);
      top.atStart = false;
      top.wrapped = true;
      return k;
    }
    if (top.kind === 'struct' && this.isFieldName(k + 1)) return this.fieldName(k + 1, true);
    return undefined;
  }

  /** `:`: ends an optional map entry's key (its value's wrapper opens), or a ternary's middle. */
  private colon(k: number): void {
    const t = this.toks[k];
    const top = this.top();
    if (top === undefined) return;
    top.atStart = false;
    if (!top.optionalKey) return;
    if (top.ternaries > 0) {
      top.ternaries--;
      return;
    }
    this.emit(t.start, `: ${OPTIONAL_ENTRY}(`, this.toks[k + 1]?.start ?? t.start + 1);
    top.optionalKey = false;
    top.wrapped = true;
  }
}
