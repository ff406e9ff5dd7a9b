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
  const toks = tokenize(src);
  let out = '';
  let last = 0;
  // stack of open braces: true when the brace opens a struct literal
  const stack: { struct: boolean; expectField: boolean }[] = [];
  for (let k = 0; k < toks.length; k++) {
    const t = toks[k];
    if (t.text === '{' && t.kind === 'punct') {
      const nameEnd = k - 1;
      let j = nameEnd;
      while (j >= 2 && toks[j].kind === 'ident' && toks[j - 1].text === '.' && toks[j - 2].kind === 'ident') j -= 2;
      const isStruct = j >= 0 && toks[j]?.kind === 'ident' && (j === nameEnd || toks[nameEnd].kind === 'ident') && !(j > 0 && toks[j - 1].text === '.');
      if (isStruct && toks[nameEnd].kind === 'ident') {
        const name = toks.slice(j, k).map((x) => x.text).join('');
        if (!STRUCT_TYPE.test(name)) throw fail(`undeclared reference to '${name}' (struct literals: Object, Object.<field>, JSONPatch)`, toks[j].start);
        out += src.slice(last, toks[j].start) + '{';
        last = t.start + 1;
        stack.push({ struct: true, expectField: true });
        continue;
      }
      stack.push({ struct: false, expectField: false });
      continue;
    }
    const top = stack[stack.length - 1];
    if (t.text === '}' && t.kind === 'punct') {
      if (top?.struct) {
        out += src.slice(last, t.start) + ')}';
        last = t.start + 1;
        // the last field's value was opened with dyn( unless the literal is empty
        if (top.expectField) out = out.slice(0, -2) + '}';
      }
      stack.pop();
      continue;
    }
    if (top?.struct && top.expectField && t.kind === 'ident' && toks[k + 1]?.text === ':') {
      out += src.slice(last, t.start) + `'${t.text}': dyn(`;
      last = toks[k + 1].start + 1;
      top.expectField = false;
      k++;
      continue;
    }
    if (top?.struct && !top.expectField && t.text === ',') {
      out += src.slice(last, t.start) + '),';
      last = t.start + 1;
      top.expectField = true;
      continue;
    }
    if (t.text === '(' || t.text === '[') stack.push({ struct: false, expectField: false });
    if ((t.text === ')' || t.text === ']') && stack.length > 0 && !stack[stack.length - 1].struct) stack.pop();
  }
  return out + src.slice(last);
}
