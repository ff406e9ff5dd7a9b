/**
 * Struct literals of MutatingAdmissionPolicy expressions (`Object{spec:
 * Object.spec{replicas: 1}}`, `JSONPatch{op: 'add', path: '/x', value: 1}`),
 * which the engine's parser does not read: rewritten, before parsing, into
 * map literals whose values are `dyn(...)` (so mixed field types pass the
 * homogeneous-literal check) and whose keys are the field names. The result is
 * a plain JSON map, as the API server turns these objects into JSON (apply
 * configuration or patch operations). The rewrite keeps every character
 * offset before the first struct literal; positions after it may shift by the
 * added quotes and `dyn(` wrappers.
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
 * Rewrites struct literals of `src` into map literals. `fail(message, offset)`
 * builds the error thrown for an unknown type name or a malformed literal.
 */
export function rewriteStructs(src: string, fail: (message: string, offset: number) => Error): string {
  if (!src.includes('{')) return src;
  return new StructRewriter(src, tokenize(src), fail).run();
}

/** An open brace, paren or bracket; `struct` when a brace opens a struct literal, `expectField` while a field name may come. */
interface Frame {
  struct: boolean;
  expectField: boolean;
}

/** One rewrite: copies `src` through, replacing struct literal syntax token by token. */
class StructRewriter {
  private out = '';
  /** Offset in `src` up to which the text is in `out`. */
  private last = 0;
  private readonly stack: Frame[] = [];

  constructor(
    private readonly src: string,
    private readonly toks: Token[],
    private readonly fail: (message: string, offset: number) => Error,
  ) {}

  run(): string {
    for (let k = 0; k < this.toks.length; k++) k = this.step(k);
    return this.out + this.src.slice(this.last);
  }

  /** Handles token `k`; returns the index of the last token it consumed. */
  private step(k: number): number {
    const t = this.toks[k];
    if (t.kind === 'punct' && t.text === '{') this.openBrace(k);
    else if (t.kind === 'punct' && t.text === '}') this.closeBrace(t);
    else if (this.isFieldName(k)) return this.fieldName(k);
    else if (t.text === ',' && this.inFieldValue()) this.comma(t);
    else this.bracket(t.text);
    return k;
  }

  private top(): Frame | undefined {
    return this.stack[this.stack.length - 1];
  }

  /** Appends `src` up to `until`, then `text`; the copy resumes at `resume`. */
  private emit(until: number, text: string, resume: number): void {
    this.out += this.src.slice(this.last, until) + text;
    this.last = resume;
  }

  /** `Name{` opens a struct literal (`{`, the name dropped), any other `{` a map literal. */
  private openBrace(k: number): void {
    const start = this.structNameStart(k);
    if (start === undefined) {
      this.stack.push({ struct: false, expectField: false });
      return;
    }
    const name = this.toks.slice(start, k).map((x) => x.text).join('');
    if (!STRUCT_TYPE.test(name)) throw this.fail(`undeclared reference to '${name}' (struct literals: Object, Object.<field>, JSONPatch)`, this.toks[start].start);
    this.emit(this.toks[start].start, '{', this.toks[k].start + 1);
    this.stack.push({ struct: true, expectField: true });
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

  /** `}`: a struct literal closes its last `dyn(` (none when it is empty). */
  private closeBrace(t: Token): void {
    const top = this.stack.pop();
    if (top?.struct) this.emit(t.start, top.expectField ? '}' : ')}', t.start + 1);
  }

  private isFieldName(k: number): boolean {
    const top = this.top();
    return top !== undefined && top.struct && top.expectField && this.toks[k].kind === 'ident' && this.toks[k + 1]?.text === ':';
  }

  /** `name:` in a struct literal: `'name': dyn(`. Consumes the `:`. */
  private fieldName(k: number): number {
    const t = this.toks[k];
    this.emit(t.start, `'${t.text}': dyn(`, this.toks[k + 1].start + 1);
    (this.top() as Frame).expectField = false;
    return k + 1;
  }

  private inFieldValue(): boolean {
    const top = this.top();
    return top !== undefined && top.struct && !top.expectField;
  }

  /** `,` after a field's value: closes its `dyn(`. */
  private comma(t: Token): void {
    this.emit(t.start, '),', t.start + 1);
    (this.top() as Frame).expectField = true;
  }

  /** Parens and brackets nest like map literals (their commas are not a struct's). */
  private bracket(text: string): void {
    if (text === '(' || text === '[') this.stack.push({ struct: false, expectField: false });
    else if ((text === ')' || text === ']') && this.stack.length > 0 && !(this.top() as Frame).struct) this.stack.pop();
  }
}
