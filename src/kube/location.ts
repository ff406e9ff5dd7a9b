/**
 * Gatekeeper's location syntax (`spec.containers[name: *].securityContext`):
 * a path of object fields and keyed-list selectors, as Gatekeeper's mutators
 * (Assign, ModifySet, AssignImage, AssignMetadata) and our `assign`
 * transformer write it. Learned from Gatekeeper pkg/mutation/path/token
 * (scanner.go, token.go) and pkg/mutation/path/parser (parser.go, node.go,
 * errors.go) and their tests; written here from their rules:
 *
 * - a field is an identifier (`[A-Za-z0-9_-]+` not starting with a digit) or a
 *   quoted string (`"..."` or `'...'`, backslash escapes the next character);
 * - `.` separates fields; no leading, trailing (`trailing separators are
 *   forbidden`) or doubled separators; whitespace may surround tokens;
 * - a field may be followed by one list selector `[key: value]`, `[key: *]`
 *   (glob: every element) or `[key: 123]` (an unquoted decimal integer key
 *   value, int64; `"123"` is the string); a list may not follow a list or a
 *   separator, and a path may not start with one;
 * - the empty string parses to no nodes (callers refuse it where Gatekeeper does).
 *
 * Also the path tests (`pathTests: [{subPath, condition}]`) of
 * pkg/mutation/path/tester/tester.go: MustExist / MustNotExist per depth.
 */

/** A field of an object: `spec`, `"my key"`. */
export interface ObjectNode {
  readonly type: 'object';
  readonly key: string;
}

/** A keyed-list selector: `[name: foo]`, `[containerPort: 80]` or the glob `[name: *]`. */
export interface ListNode {
  readonly type: 'list';
  readonly keyField: string;
  /** The key value (string, or an integer for an unquoted number); undefined for a glob. */
  readonly keyValue?: string | number | bigint;
  readonly glob: boolean;
}

/** One node of a parsed location. */
export type LocationNode = ObjectNode | ListNode;

/** Why a location does not parse; `message` is Gatekeeper's wording. */
export class LocationError extends Error {
  constructor(message: string, readonly reason: 'unexpected token' | 'trailing separator' | 'invalid integer') {
    super(message);
    this.name = 'LocationError';
  }
}

type TokenType = 'ERROR' | 'EOF' | 'IDENT' | 'INT' | 'LBRACKET' | 'RBRACKET' | 'SEPARATOR' | 'GLOB' | 'COLON';

interface Token {
  type: TokenType;
  literal: string;
}

const PUNCTUATION: Record<string, TokenType> = { '.': 'SEPARATOR', '[': 'LBRACKET', ']': 'RBRACKET', '*': 'GLOB', ':': 'COLON' };

const isDigit = (c: string): boolean => c >= '0' && c <= '9';
const isAlphaNum = (c: string): boolean => /^[A-Za-z0-9_-]$/.test(c);
const isSpace = (c: string): boolean => c === ' ' || c === '\t' || c === '\r' || c === '\n';

/** Token text as Gatekeeper prints it (`IDENT: "foo"`, token.go `String`). */
function show(t: Token): string {
  return `${t.type}: ${JSON.stringify(t.literal)}`;
}

/** The scanner of token/scanner.go: a scan error is sticky (later identifiers and integers become ERROR tokens). */
class Scanner {
  private pos = 0;
  private failed = false;

  constructor(private readonly input: string) {}

  next(): Token {
    while (this.pos < this.input.length && isSpace(this.input[this.pos] as string)) this.pos++;
    if (this.pos >= this.input.length) return { type: 'EOF', literal: '' };
    const c = this.input[this.pos] as string;
    if (isDigit(c)) return this.run(isDigit, 'INT');
    if (isAlphaNum(c)) return this.run(isAlphaNum, 'IDENT');
    this.pos++;
    const punct = PUNCTUATION[c];
    if (punct) return { type: punct, literal: c };
    if (c === '"' || c === "'") return this.quoted(c);
    this.failed = true; // invalid character
    return { type: 'ERROR', literal: c };
  }

  private run(test: (c: string) => boolean, type: TokenType): Token {
    const start = this.pos;
    while (this.pos < this.input.length && test(this.input[this.pos] as string)) this.pos++;
    return { type: this.failed ? 'ERROR' : type, literal: this.input.slice(start, this.pos) };
  }

  private quoted(quote: string): Token {
    let out = '';
    for (;;) {
      if (this.pos >= this.input.length) {
        this.failed = true; // unterminated string
        return { type: 'ERROR', literal: out };
      }
      let c = this.input[this.pos++] as string;
      if (c === quote) return { type: 'IDENT', literal: out };
      if (c === '\\') {
        if (this.pos >= this.input.length) continue;
        c = this.input[this.pos++] as string;
      }
      out += c;
    }
  }
}

const MAX_INT64 = 9223372036854775807n;

/** Decimal int64 (parser.go parseInt64: no octal or hex; overflow is an error). Safe integers become numbers. */
function parseInt64(s: string, keyField: string): number | bigint {
  const v = BigInt(s);
  if (v > MAX_INT64) throw new LocationError(`invalid integer: overflow in integer string: ${s}: parsing key value for key: ${keyField}`, 'invalid integer');
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** The recursive-descent parser of parser.go over one token of lookahead. */
class Parser {
  private cur: Token;
  private peek: Token;
  private readonly scanner: Scanner;

  constructor(input: string) {
    this.scanner = new Scanner(input);
    this.cur = this.scanner.next();
    this.peek = this.scanner.next();
  }

  private advance(): void {
    this.cur = this.peek;
    this.peek = this.scanner.next();
  }

  private expect(t: TokenType): boolean {
    if (this.peek.type !== t) return false;
    this.advance();
    return true;
  }

  parse(): LocationNode[] {
    const nodes: LocationNode[] = [];
    while (this.cur.type === 'IDENT') {
      nodes.push({ type: 'object', key: this.cur.literal });
      if (this.expect('LBRACKET')) nodes.push(this.list());
      if (this.expect('SEPARATOR')) {
        if (this.peek.type === 'EOF') throw new LocationError('trailing separators are forbidden', 'trailing separator');
        this.advance();
      } else if (!this.expect('EOF')) {
        throw unexpected(`expected '.' or eof, got: ${show(this.peek)}`);
      }
    }
    if (this.cur.type !== 'EOF') throw unexpected(`expected field name or eof, got: ${show(this.cur)}`);
    return nodes;
  }

  private list(): ListNode {
    if (!this.expect('IDENT')) throw unexpected(`expected keyField in listSpec, got: ${show(this.peek)}`);
    const keyField = this.cur.literal;
    if (!this.expect('COLON')) throw unexpected(`expected ':' following keyField ${keyField}, got: ${show(this.peek)}`);
    let node: ListNode;
    if (this.expect('GLOB')) node = { type: 'list', keyField, glob: true };
    else if (this.expect('IDENT')) node = { type: 'list', keyField, keyValue: this.cur.literal, glob: false };
    else if (this.expect('INT')) node = { type: 'list', keyField, keyValue: parseInt64(this.cur.literal, keyField), glob: false };
    else throw unexpected(`expected key value or glob in listSpec, got: ${show(this.peek)}`);
    if (!this.expect('RBRACKET')) throw unexpected(`expected ']' following listSpec, got: ${show(this.peek)}`);
    return node;
  }
}

function unexpected(detail: string): LocationError {
  return new LocationError(`unexpected token: ${detail}`, 'unexpected token');
}

/**
 * Parses a location. Throws LocationError with Gatekeeper's message
 * (`unexpected token: ...`, `trailing separators are forbidden`, `invalid integer: ...`).
 */
export function parseLocation(input: string): LocationNode[] {
  return new Parser(input).parse();
}

/** Quotes a field or key when it would not scan back as one identifier (node.go `quote`, made reparse-safe). */
function quote(s: string): string {
  if (s !== '' && /^[A-Za-z_-][A-Za-z0-9_-]*$/.test(s)) return s;
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** One node as text: `spec`, `[name: *]`, `[name: "a b"]`, `[containerPort: 80]`. */
export function formatNode(n: LocationNode): string {
  if (n.type === 'object') return quote(n.key);
  if (n.glob) return `[${quote(n.keyField)}: *]`;
  const v = typeof n.keyValue === 'string' ? quote(n.keyValue) : String(n.keyValue);
  return `[${quote(n.keyField)}: ${v}]`;
}

/** A parsed location as text that parses back to the same nodes (node.go `Path.String`). */
export function formatLocation(nodes: readonly LocationNode[]): string {
  return nodes.map((n, i) => (n.type === 'object' && i > 0 ? `.${formatNode(n)}` : formatNode(n))).join('');
}

/** True when two nodes are the same selector (tester.go compares nodes with reflect.DeepEqual). */
export function sameNode(a: LocationNode, b: LocationNode): boolean {
  if (a.type === 'object' || b.type === 'object') return a.type === b.type && (a as ObjectNode).key === (b as ObjectNode).key;
  return a.keyField === b.keyField && a.glob === b.glob && a.keyValue === b.keyValue;
}

/** `pathTests[].condition`. */
export type PathCondition = 'MustExist' | 'MustNotExist';

/** One path test: a prefix of the location and what must hold there in the object. */
export interface PathTest {
  subPath: readonly LocationNode[];
  condition: PathCondition;
}

/**
 * Path tests indexed by depth (tester.go `Tester`): `existsOkay(d)` /
 * `missingOkay(d)` say whether the node at depth `d` may exist / be missing.
 */
export interface PathTester {
  existsOkay(depth: number): boolean;
  missingOkay(depth: number): boolean;
}

/** A tester with no tests: everything is okay. */
export const NO_PATH_TESTS: PathTester = { existsOkay: () => true, missingOkay: () => true };

function isPrefix(short: readonly LocationNode[], long: readonly LocationNode[]): boolean {
  return short.length <= long.length && short.every((n, i) => sameNode(n, long[i] as LocationNode));
}

/**
 * Builds the tester of `tests` against `location` (tester.go `New`). Throws
 * Error with Gatekeeper's reasons: `all subpaths must be a prefix of the
 * \`location\` value of the mutation: ...`, `conflicting path test conditions: ...`.
 * The parent/child conflict check compares list positions, as Gatekeeper does:
 * a MustExist test listed after a MustNotExist test conflicts.
 */
export function createPathTester(location: readonly LocationNode[], tests: readonly PathTest[]): PathTester {
  for (const t of tests) {
    if (!isPrefix(t.subPath, location)) {
      throw new Error(`all subpaths must be a prefix of the \`location\` value of the mutation: subpath ${JSON.stringify(formatLocation(t.subPath))} is not a prefix of location ${JSON.stringify(formatLocation(location))}`);
    }
  }
  const byDepth = new Map<number, PathCondition>();
  let lowestMustNot = Number.MAX_SAFE_INTEGER;
  let highestMust = 0;
  tests.forEach((t, i) => {
    byDepth.set(t.subPath.length - 1, t.condition);
    if (t.condition === 'MustNotExist' && i < lowestMustNot) lowestMustNot = i;
    else if (t.condition === 'MustExist' && i > highestMust) highestMust = i;
  });
  for (const t of tests) {
    if (byDepth.get(t.subPath.length - 1) !== t.condition) {
      throw new Error(`conflicting path test conditions: path ${JSON.stringify(formatLocation(t.subPath))} is marked both MustExist and MustNotExist`);
    }
  }
  if (highestMust > lowestMustNot) {
    const must = formatLocation((tests[highestMust] as PathTest).subPath);
    const mustNot = formatLocation((tests[lowestMustNot] as PathTest).subPath);
    throw new Error(`conflicting path test conditions: path ${JSON.stringify(must)} is marked MustExist but parent ${JSON.stringify(mustNot)} MustNotExist`);
  }
  return {
    existsOkay: (d) => byDepth.get(d) !== 'MustNotExist',
    missingOkay: (d) => byDepth.get(d) !== 'MustExist',
  };
}
