// helm-template.ts renders this chart without a Helm binary: a small evaluator
// for the subset of Go templates + Sprig the chart's templates use (if / else if /
// else / with / define / include, variables, pipelines, and the functions in FUNCS).
// Anything outside the subset throws, so a template change that needs more is
// noticed here instead of being silently mis-rendered. When `helm` is on PATH the
// tests render with it as well (see chart.test.ts).
//
// Go template semantics kept: `{{-`/`-}}` trim adjacent whitespace; truthiness is
// "not the zero value" (false, 0, "", nil, empty list/map); `and`/`or` short-circuit
// (Go 1.18+); `.Values.a.b` on a missing `a` is an error, as in Helm.
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import YAML from 'yaml'

type Dict = Record<string, unknown>
type Operand =
  | { t: 'field'; base: string; path: string[] }
  | { t: 'lit'; v: unknown }
  | { t: 'ident'; name: string }
  | { t: 'pipe'; p: Command[] }
type Command = Operand[]
type Node =
  | { t: 'text'; s: string }
  | { t: 'out'; p: Command[] }
  | { t: 'assign'; name: string; p: Command[] }
  | { t: 'if'; branches: { cond: Command[]; body: Node[] }[]; otherwise: Node[] }
  | { t: 'with'; p: Command[]; body: Node[]; otherwise: Node[] }

interface Env { dot: unknown; root: Dict; vars: Map<string, unknown>; defs: Map<string, Node[]>; opts: RenderOptions }

export interface RenderOptions {
  values?: Dict
  releaseName?: string
  namespace?: string
  lookup?: (apiVersion: string, kind: string, ns: string, name: string) => Dict
}

// ---- lexing ---------------------------------------------------------------
interface Raw { kind: 'text' | 'action'; s: string }

function lex(src: string): Raw[] {
  const out: Raw[] = []
  let i = 0
  while (i < src.length) {
    const open = src.indexOf('{{', i)
    if (open < 0) { out.push({ kind: 'text', s: src.slice(i) }); break }
    out.push({ kind: 'text', s: src.slice(i, open) })
    const close = src.indexOf('}}', open)
    if (close < 0) throw new Error('unclosed action')
    let body = src.slice(open + 2, close)
    if (body.startsWith('-') && /\s/.test(body[1] ?? '')) {
      const prev = out[out.length - 1]
      prev.s = prev.s.replace(/\s+$/, '')
      body = body.slice(1)
    }
    let trimNext = false
    if (body.endsWith('-') && /\s/.test(body[body.length - 2] ?? '')) { trimNext = true; body = body.slice(0, -1) }
    out.push({ kind: 'action', s: body.trim() })
    i = close + 2
    if (trimNext) { while (i < src.length && /\s/.test(src[i])) i++ }
  }
  return out.filter((r) => r.kind === 'action' || r.s !== '')
}

function tokens(s: string): string[] {
  const re = /\s*("(?:[^"\\]|\\.)*"|\(|\)|\||:=|=|[^\s()|]+)/gy
  const out: string[] = []
  let m: RegExpExecArray | null
  while ((m = re.exec(s)) !== null) out.push(m[1])
  if (s.slice(re.lastIndex).trim() !== '' && out.join('') === '') throw new Error(`cannot lex: ${s}`)
  return out
}

function parsePipeline(toks: string[]): Command[] {
  const cmds: Command[] = [[]]
  let i = 0
  const operand = (): Operand => {
    const tk = toks[i++]
    if (tk === '(') {
      let depth = 1; const start = i
      while (depth > 0) { if (toks[i] === '(') depth++; if (toks[i] === ')') depth--; i++ }
      return { t: 'pipe', p: parsePipeline(toks.slice(start, i - 1)) }
    }
    if (tk.startsWith('"')) return { t: 'lit', v: JSON.parse(tk) }
    if (/^-?\d+$/.test(tk)) return { t: 'lit', v: Number(tk) }
    if (tk === 'true' || tk === 'false') return { t: 'lit', v: tk === 'true' }
    if (tk === 'nil') return { t: 'lit', v: null }
    if (tk === '.') return { t: 'field', base: '.', path: [] }
    if (tk.startsWith('.')) return { t: 'field', base: '.', path: tk.slice(1).split('.') }
    if (tk.startsWith('$')) {
      const [base, ...path] = tk.split('.')
      return { t: 'field', base, path }
    }
    return { t: 'ident', name: tk }
  }
  while (i < toks.length) {
    if (toks[i] === '|') { cmds.push([]); i++; continue }
    cmds[cmds.length - 1].push(operand())
  }
  return cmds
}

// ---- parsing --------------------------------------------------------------
function parse(raws: Raw[], defs: Map<string, Node[]>): Node[] {
  let i = 0
  const block = (stops: RegExp): { nodes: Node[]; stop: string } => {
    const nodes: Node[] = []
    while (i < raws.length) {
      const r = raws[i++]
      if (r.kind === 'text') { nodes.push({ t: 'text', s: r.s }); continue }
      const a = r.s
      if (a.startsWith('/*')) continue
      if (stops.test(a)) return { nodes, stop: a }
      let m: RegExpMatchArray | null
      if ((m = a.match(/^define\s+"([^"]+)"$/))) {
        defs.set(m[1], block(/^end$/).nodes)
      } else if ((m = a.match(/^if\s+(.*)$/))) {
        const branches = []
        let cond = m[1]; let otherwise: Node[] = []
        for (;;) {
          const b = block(/^(end|else)(\s|$)/)
          branches.push({ cond: parsePipeline(tokens(cond)), body: b.nodes })
          if (b.stop === 'end') break
          const elif = b.stop.match(/^else\s+if\s+(.*)$/)
          if (elif) { cond = elif[1]; continue }
          otherwise = block(/^end$/).nodes
          break
        }
        nodes.push({ t: 'if', branches, otherwise })
      } else if ((m = a.match(/^with\s+(.*)$/))) {
        const b = block(/^(end|else)$/)
        const otherwise = b.stop === 'else' ? block(/^end$/).nodes : []
        nodes.push({ t: 'with', p: parsePipeline(tokens(m[1])), body: b.nodes, otherwise })
      } else if ((m = a.match(/^\$(\w+)\s*:?=\s*(.*)$/))) {
        nodes.push({ t: 'assign', name: '$' + m[1], p: parsePipeline(tokens(m[2])) })
      } else if (/^(range|template|block|break|continue)\b/.test(a)) {
        throw new Error(`helm-template: unsupported action {{ ${a} }}`)
      } else {
        nodes.push({ t: 'out', p: parsePipeline(tokens(a)) })
      }
    }
    return { nodes, stop: '' }
  }
  return block(/^\0$/).nodes
}

// ---- evaluation -----------------------------------------------------------
export function truthy(v: unknown): boolean {
  if (v === null || v === undefined || v === false || v === 0 || v === '') return false
  if (Array.isArray(v)) return v.length > 0
  if (typeof v === 'object') return Object.keys(v as Dict).length > 0
  return true
}

function field(base: unknown, path: string[], expr: string): unknown {
  let v = base
  for (const k of path) {
    if (v === null || v === undefined) throw new Error(`nil pointer evaluating ${expr}`)
    v = (v as Dict)[k]
  }
  return v
}

const indent = (n: number, s: string): string => s.split('\n').map((l) => ' '.repeat(n) + l).join('\n')
const toYaml = (v: unknown): string => YAML.stringify(v, { lineWidth: 0 }).replace(/\n$/, '')
const sprintf = (fmt: string, ...args: unknown[]): string => {
  let k = 0
  return fmt.replace(/%[sdv]/g, () => String(args[k++]))
}

type Fn = (env: Env, ...a: unknown[]) => unknown
const FUNCS: Record<string, Fn> = {
  include: (env, name, dot) => {
    const body = env.defs.get(String(name))
    if (!body) throw new Error(`no template "${String(name)}"`)
    return run(body, { ...env, dot, vars: new Map() })
  },
  toYaml: (_e, v) => toYaml(v),
  nindent: (_e, n, s) => '\n' + indent(Number(n), String(s)),
  indent: (_e, n, s) => indent(Number(n), String(s)),
  quote: (_e, v) => JSON.stringify(v === undefined || v === null ? '' : String(v)),
  default: (_e, d, v) => (truthy(v) ? v : d),
  trunc: (_e, n, s) => String(s).slice(0, Number(n)),
  trimSuffix: (_e, suf, s) => (String(s).endsWith(String(suf)) ? String(s).slice(0, -String(suf).length) : s),
  contains: (_e, sub, s) => String(s).includes(String(sub)),
  replace: (_e, a, b, s) => String(s).split(String(a)).join(String(b)),
  printf: (_e, fmt, ...a) => sprintf(String(fmt), ...a),
  not: (_e, v) => !truthy(v),
  eq: (_e, a, b) => a === b,
  ne: (_e, a, b) => a !== b,
  empty: (_e, v) => !truthy(v),
  int: (_e, v) => Math.trunc(Number(v)),
  list: (_e, ...a) => a,
  index: (_e, m, ...keys) => keys.reduce((acc: unknown, k) => (acc === null || acc === undefined ? undefined : (acc as Dict)[String(k)]), m),
  b64enc: (_e, s) => Buffer.from(String(s)).toString('base64'),
  lookup: (env, ...a) => env.opts.lookup?.(...(a.map(String) as [string, string, string, string])) ?? {},
  dict: (_e, ...a) => {
    const out: Dict = {}
    for (let i = 0; i + 1 < a.length; i += 2) out[String(a[i])] = a[i + 1]
    return out
  },
  // Sprig's dig: keys..., default, map.
  dig: (_e, ...a) => {
    const m = a[a.length - 1]
    const d = a[a.length - 2]
    let cur: unknown = m
    for (const k of a.slice(0, -2)) cur = isPlain(cur) ? cur[String(k)] : undefined
    return cur === undefined || cur === null ? d : cur
  },
  // Stand-ins for Sprig's crypto: the rendered shape is what the tests check.
  genCA: (_e, cn) => ({ Cert: `-----BEGIN CERTIFICATE-----\nCA ${String(cn)}\n-----END CERTIFICATE-----\n`, Key: 'CA-KEY' }),
  genSignedCert: (_e, cn) => ({ Cert: `-----BEGIN CERTIFICATE-----\n${String(cn)}\n-----END CERTIFICATE-----\n`, Key: 'KEY' }),
}

function evalOperand(o: Operand, env: Env): unknown {
  switch (o.t) {
    case 'lit': return o.v
    case 'pipe': return evalPipeline(o.p, env)
    case 'ident': return call(o.name, [], env)
    case 'field': {
      const base = o.base === '.' ? env.dot : o.base === '$' ? env.root : env.vars.get(o.base)
      if (o.base !== '.' && o.base !== '$' && !env.vars.has(o.base)) throw new Error(`undefined variable ${o.base}`)
      return field(base, o.path, `${o.base}.${o.path.join('.')}`)
    }
  }
}

function call(name: string, args: Operand[], env: Env, piped?: { v: unknown }): unknown {
  if (name === 'and' || name === 'or') {
    const thunks = args.map((a) => () => evalOperand(a, env))
    if (piped) thunks.push(() => piped.v)
    let last: unknown
    for (const th of thunks) {
      last = th()
      if (name === 'and' ? !truthy(last) : truthy(last)) return last
    }
    return last
  }
  const fn = FUNCS[name]
  if (!fn) throw new Error(`helm-template: unsupported function ${name}`)
  const vals = args.map((a) => evalOperand(a, env))
  if (piped) vals.push(piped.v)
  return fn(env, ...vals)
}

function evalPipeline(p: Command[], env: Env): unknown {
  let piped: { v: unknown } | undefined
  for (const cmd of p) {
    const [head, ...rest] = cmd
    if (head.t === 'ident') piped = { v: call(head.name, rest, env, piped) }
    else if (rest.length === 0 && !piped) piped = { v: evalOperand(head, env) }
    else if (head.t === 'field' && typeof evalOperand(head, env) === 'function') {
      // A method such as .Files.Get "path" (the only ones the chart uses are Files.Get).
      const fn = evalOperand(head, env) as (...a: unknown[]) => unknown
      const vals = rest.map((a) => evalOperand(a, env))
      if (piped) vals.push(piped.v)
      piped = { v: fn(...vals) }
    }
    else throw new Error('helm-template: cannot call a non-function')
  }
  return piped?.v
}

function show(v: unknown): string {
  if (v === undefined || v === null) return ''
  if (typeof v === 'object') throw new Error('helm-template: printing a map or list; use toYaml')
  return String(v)
}

function run(nodes: Node[], env: Env): string {
  let out = ''
  for (const n of nodes) {
    switch (n.t) {
      case 'text': out += n.s; break
      case 'out': out += show(evalPipeline(n.p, env)); break
      case 'assign': env.vars.set(n.name, evalPipeline(n.p, env)); break
      case 'if': {
        const b = n.branches.find((br) => truthy(evalPipeline(br.cond, env)))
        out += run(b ? b.body : n.otherwise, env)
        break
      }
      case 'with': {
        const v = evalPipeline(n.p, env)
        out += truthy(v) ? run(n.body, { ...env, dot: v }) : run(n.otherwise, env)
        break
      }
    }
  }
  return out
}

function isPlain(v: unknown): v is Dict {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

// mergeValues overlays user values on the chart's values.yaml, as Helm does (maps merge, the rest replaces).
export function mergeValues(base: Dict, over: Dict): Dict {
  const out: Dict = { ...base }
  for (const [k, v] of Object.entries(over)) out[k] = isPlain(v) && isPlain(base[k]) ? mergeValues(base[k] as Dict, v) : v
  return out
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f)
    return statSync(p).isDirectory() ? walk(p) : [p]
  })
}

// renderChart returns each template's output, keyed by its path relative to the chart.
export function renderChart(chartDir: string, opts: RenderOptions = {}): Map<string, string> {
  const chart = YAML.parse(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8')) as Dict
  const defaults = YAML.parse(readFileSync(join(chartDir, 'values.yaml'), 'utf8')) as Dict
  const root: Dict = {
    Values: mergeValues(defaults, opts.values ?? {}),
    Release: { Name: opts.releaseName ?? 'kube-postrender', Namespace: opts.namespace ?? 'kube-postrender', Service: 'Helm' },
    Chart: { Name: chart.name, Version: chart.version, AppVersion: chart.appVersion },
    Files: { Get: (path: unknown) => readFileSync(join(chartDir, String(path)), 'utf8') },
  }
  const files = walk(join(chartDir, 'templates')).sort()
  const defs = new Map<string, Node[]>()
  const parsed = files.map((f) => ({ rel: relative(chartDir, f), nodes: parse(lex(readFileSync(f, 'utf8')), defs) }))
  const out = new Map<string, string>()
  for (const { rel, nodes } of parsed) {
    const base = rel.split('/').pop() ?? ''
    if (base.startsWith('_') || base === 'NOTES.txt') continue
    out.set(rel, run(nodes, { dot: root, root, vars: new Map(), defs, opts }))
  }
  return out
}

// renderObjects parses every rendered document into objects (empty documents dropped).
export function renderObjects(chartDir: string, opts: RenderOptions = {}): Dict[] {
  const objs: Dict[] = []
  for (const [file, text] of renderChart(chartDir, opts)) {
    for (const doc of YAML.parseAllDocuments(text)) {
      if (doc.errors.length) throw new Error(`${file}: ${doc.errors[0].message}\n${text}`)
      const v = doc.toJS() as unknown
      if (v !== null && v !== undefined) objs.push(v as Dict)
    }
  }
  return objs
}
