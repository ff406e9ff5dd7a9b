/**
 * Loads policies from files and directories (`-c`), validates every document
 * against the policy JSON Schema, and compiles them into a PolicySet.
 *
 * A path may be:
 * - a file holding policy documents and/or one Kustomization (multi-document YAML);
 * - a directory holding `kustomization.yaml` (or `.yml`, `Kustomization`): that
 *   Kustomization, as kustomize reads a directory;
 * - any other directory: its `*.yaml` / `*.yml` files and those of its
 *   subdirectories, recursively (see `expandPolicyPath`; hidden entries
 *   skipped, so a mounted ConfigMap's `..data` is not read twice).
 *
 * Errors name file, document (1-based), JSON path and reason, and are thrown
 * before anything is replaced: a caller keeps its previous PolicySet on error.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import type { ValidateFunction } from 'ajv';
import { ManifestParseError, parseManifests, type ManifestDoc } from '../kube/yaml-stream.js';
import schema from './policy.schema.json' with { type: 'json' };
import { isObject } from '../kube/object.js';
import { errorMessage } from '../errors.js';
import { builtinRegistry, type TransformerRegistry } from '../transform/registry.js';
import { compilePolicy, createPolicySet, PolicyError, type CompiledPolicy, type CompileOptions, type PolicySource, type PolicySpec } from './compile.js';
import { compileKustomization, isKustomization, KUSTOMIZATION_NAMES, type KustomizationFiles } from './kustomization.js';
import { flattenPolicyErrors, PolicyErrors, schemaErrors } from './schema-errors.js';
import { compileGatekeeperDocument, compileGatekeeperList, isGatekeeperDocument, isGatekeeperList, mergeGatekeeperPolicies } from './gatekeeper.js';
import { compileAdmissionPolicies, isAdmissionPolicyDocument, type SourcedDocument } from './admission-policy.js';
import { isParamsCandidate, staticParamStore, type ParamStore } from './admission-params.js';
import type { ConditionCompiler } from './match.js';
import type { PolicySet } from './types.js';
import type { FrontDoor } from '../transform/types.js';

let compiledSchema: ValidateFunction | undefined;

/**
 * The policy schema's validator, compiled on first use (~40 ms with ajv):
 * `run` with only a Kustomization never validates a policy document.
 */
function validateSchema(): ValidateFunction {
  if (compiledSchema === undefined) {
    const { Ajv } = createRequire(import.meta.url)('ajv') as typeof import('ajv');
    compiledSchema = new Ajv({ allErrors: true, strict: false, verbose: true }).compile(schema);
  }
  return compiledSchema;
}

/** Options for loading policies. */
export interface LoadOptions {
  /** Transformer types (default: the built-ins). */
  registry?: TransformerRegistry;
  /** CEL compiler for `conditions` (default: expr/vars.ts `conditionCompiler`, as every command uses). */
  compileCondition?: ConditionCompiler;
  /** The webhook's own namespace. */
  ownNamespace?: string;
  /**
   * The front door the policies are loaded for. `render` (`run`) accepts what
   * only a whole stream can do (kustomize `replacements` between objects);
   * the default, `admission`, refuses it at load (one object at a time).
   */
  frontDoor?: FrontDoor;
  /**
   * Params objects of admission policies besides the documents of the policy
   * files (`serve --cluster`: an informer). Default: the non-policy documents
   * of the loaded files whose kind some policy's `paramKind` names.
   */
  params?: ParamStore;
}

/** The result of loading: the compiled set and the individual policies (for `check` and `explain`). */
export interface LoadedPolicies {
  set: PolicySet;
  policies: CompiledPolicy[];
  files: string[];
}

/** The file system as a kustomization tree reads it (bases, components). */
const FILES: KustomizationFiles = {
  kind: (p) => {
    try {
      const st = statSync(p);
      return st.isDirectory() ? 'dir' : 'file';
    } catch {
      return 'missing';
    }
  },
  read: (p) => readFileSync(p, 'utf8'),
};

/**
 * API groups whose documents may be policies (ours, kustomize's, and the
 * dialects compiled beside them). A document of any other group found in a
 * *subdirectory* is a Kubernetes object (a test fixture, say), not a policy.
 */
export const POLICY_API_GROUPS: readonly string[] = ['postrender.io', 'kustomize.config.k8s.io', 'admissionregistration.k8s.io', 'mutations.gatekeeper.sh'];

/** Most directory levels read below a `-c` directory (a symlink loop ends here too). */
const MAX_DIRECTORY_DEPTH = 16;

function kustomizationIn(dir: string): string | undefined {
  for (const k of KUSTOMIZATION_NAMES) {
    try {
      if (statSync(join(dir, k)).isFile()) return join(dir, k);
    } catch {
      // not this name
    }
  }
  return undefined;
}

/** True when `file` parses and every document is an object of a non-policy API group (a fixture, not a policy). */
function holdsOnlyOtherObjects(file: string): boolean {
  let docs: ManifestDoc[];
  try {
    docs = parseManifests(readFileSync(file, 'utf8'));
  } catch {
    return false; // loading reports the error
  }
  const values = docs.map((d) => d.value as unknown).filter((v) => v !== null && v !== undefined);
  return values.length > 0 && values.every((v) => {
    if (!isObject(v) || typeof v.apiVersion !== 'string' || typeof v.kind !== 'string' || isKustomization(v)) return false;
    const group = v.apiVersion.includes('/') ? v.apiVersion.slice(0, v.apiVersion.indexOf('/')) : '';
    return !POLICY_API_GROUPS.includes(group);
  });
}

/** The policy files of directory `dir` and its subdirectories, sorted by path (hidden entries skipped). */
function walk(dir: string, depth: number, out: string[]): void {
  const entries = readdirSync(dir).filter((f) => !f.startsWith('.')).sort();
  for (const name of entries) {
    const full = join(dir, name);
    let st;
    try {
      st = statSync(full);
    } catch {
      continue; // a dangling symlink
    }
    if (st.isFile() && /\.ya?ml$/.test(name)) {
      if (depth === 0 || !holdsOnlyOtherObjects(full)) out.push(full);
    } else if (st.isDirectory() && depth < MAX_DIRECTORY_DEPTH) {
      const k = kustomizationIn(full);
      if (k) out.push(k);
      else walk(full, depth + 1, out);
    }
  }
}

/**
 * The files a `-c` path stands for. Throws PolicyError for a missing path.
 *
 * A file is itself. A directory holding a kustomization file is that
 * Kustomization. Any other directory: its `*.yaml`/`*.yml` files and, in name
 * order, those of its subdirectories, recursively (as `kyverno apply DIR` and
 * `gator test` read directories); a subdirectory holding a kustomization file
 * is that Kustomization (kustomize reads a directory so), and a file in a
 * subdirectory whose documents are all objects of other API groups (test
 * fixtures beside a policy) is skipped. Hidden entries (a mounted ConfigMap's
 * `..data`) are never read.
 */
export function expandPolicyPath(path: string): string[] {
  const abs = resolve(path);
  let st;
  try {
    st = statSync(abs);
  } catch {
    throw new PolicyError({ file: path, document: 0 }, '', errorMessage('ERR_POLICY_NOT_FOUND'), 'ERR_POLICY_NOT_FOUND');
  }
  if (!st.isDirectory()) return [abs];
  const k = kustomizationIn(abs);
  if (k) return [k];
  const out: string[] = [];
  walk(abs, 0, out);
  return out;
}

/**
 * Validates one policy document against the JSON Schema. Transformer types
 * registered beyond the built-ins are accepted (their factory validates them).
 * Throws PolicyError for one error, PolicyErrors (schema-errors.ts) for
 * several: every error of the document, each with its path, unknown fields
 * with a "did you mean".
 */
export function validatePolicyDocument(doc: unknown, source: PolicySource, registry: TransformerRegistry): void {
  const validate = validateSchema();
  if (validate(doc)) return;
  const errors = (validate.errors ?? []).filter((e) => {
    if (e.keyword !== 'additionalProperties' || !/^\/spec\/transformers\/\d+$/.test(e.instancePath)) return true;
    return !registry.get(String((e.params as { additionalProperty: string }).additionalProperty));
  });
  const found = schemaErrors(errors, source, registry.types());
  if (found.length === 1) throw found[0];
  if (found.length > 1) throw new PolicyErrors(found);
}

/** True for a `kube-postrender test` document (src/cli/policy-test.ts), which may sit beside its policy. */
function isPolicyTest(value: unknown): boolean {
  return isObject(value) && value.apiVersion === 'postrender.io/v1alpha1' && value.kind === 'PolicyTest';
}

/** The documents of policy files, sorted by what reads them. */
export interface PolicyDocuments {
  /** postrender.io policies and Kustomizations, compiled. */
  policies: CompiledPolicy[];
  /** MutatingAdmissionPolicy, ValidatingAdmissionPolicy and their bindings (compiled together, see admission-policy.ts). */
  admission: SourcedDocument[];
  /** Any other Kubernetes object: a params object when some policy's paramKind names its kind, else an error. */
  others: SourcedDocument[];
  /** `apiVersion/kind` of every postrender.io policy's `spec.paramKind`. */
  paramKinds: string[];
}

/** Only strings are quoted: a map with its own `toString` key would make String() throw. */
function describeDoc(value: unknown): string {
  const text = (v: unknown): string => (typeof v === 'string' ? v : v === undefined ? 'undefined' : Array.isArray(v) ? 'list' : v === null ? 'null' : typeof v === 'object' ? 'map' : typeof v);
  return isObject(value) ? `${text(value.apiVersion)} ${text(value.kind)}` : Array.isArray(value) ? 'list' : typeof value;
}

function notAPolicy(source: PolicySource, value: unknown): PolicyError {
  return new PolicyError(source, isObject(value) ? 'apiVersion' : '', errorMessage('ERR_POLICY_NOT_A_POLICY', describeDoc(value)), 'ERR_POLICY_NOT_A_POLICY');
}

/**
 * Parses the documents of one policy file (text already read) and compiles
 * its postrender.io policies and Kustomizations; admission policy documents
 * and other objects are returned for the load-wide pass. Throws PolicyError.
 */
export function readPolicyText(text: string, file: string, opts: CompileOptions & { baseDir?: string; files?: KustomizationFiles; frontDoor?: FrontDoor }): PolicyDocuments {
  let docs: ManifestDoc[];
  try {
    // Read as kustomize reads YAML (go-yaml v3: src/kube/yaml-stream.ts), as
    // manifests are: duplicate keys, bad aliases and alias bombs are errors.
    docs = parseManifests(text);
  } catch (e) {
    if (!(e instanceof ManifestParseError)) throw e;
    throw new PolicyError({ file, document: e.docNumber }, '', errorMessage('ERR_POLICY_YAML', e.line, e.col, e.reason), 'ERR_POLICY_YAML');
  }
  const out: PolicyDocuments = { policies: [], admission: [], others: [], paramKinds: [] };
  const errors: PolicyError[] = [];
  // eslint-disable-next-line complexity -- the dialect dispatch (test file, Kustomization, admission policy, Gatekeeper mutator, params object, policy) reads best as one list
  const compileDocument = (d: ManifestDoc): void => {
    const source = { file, document: d.docNumber };
    const value: unknown = d.value;
    // A `kube-postrender test` file next to its policy (docs/testing.md) is not a policy.
    if (value === null || value === undefined || isPolicyTest(value)) return;
    if (isKustomization(value, basename(file))) {
      out.policies.push(compileKustomization(value as Record<string, unknown>, basename(dirname(file)) + '/' + basename(file), source, opts));
      return;
    }
    if (isAdmissionPolicyDocument(value)) {
      out.admission.push({ value: value as SourcedDocument['value'], source });
      return;
    }
    if (isGatekeeperDocument(value)) return void out.policies.push(compileGatekeeperDocument(value, source, opts));
    if (isGatekeeperList(value)) return void out.policies.push(...compileGatekeeperList(value, source, opts));
    if (!isObject(value) || value.apiVersion !== 'postrender.io/v1alpha1') {
      if (isParamsCandidate(value)) return void out.others.push({ value, source });
      throw notAPolicy(source, value);
    }
    validatePolicyDocument(value, source, opts.registry);
    const doc = value as unknown as { kind: string; metadata: { name: string; namespace?: string }; spec: PolicySpec };
    if (doc.spec.paramKind) out.paramKinds.push(`${doc.spec.paramKind.apiVersion}/${doc.spec.paramKind.kind}`);
    out.policies.push(compilePolicy(doc, source, opts));
  };
  for (const d of docs) {
    try {
      compileDocument(d);
    } catch (e) {
      if (!(e instanceof PolicyError)) throw e;
      errors.push(...flattenPolicyErrors(e)); // every document's errors in one pass
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new PolicyErrors(errors);
  return out;
}

/**
 * Resolves the load-wide part: admission policies with their bindings, and
 * the params objects among `others` (an object whose kind no policy's
 * paramKind names is an error). Throws PolicyError.
 */
export function resolvePolicyDocuments(all: PolicyDocuments, params?: ParamStore, bind?: (store: ParamStore) => void): CompiledPolicy[] {
  const paramKinds = new Set(all.paramKinds);
  all.admission.forEach((d) => {
    const spec = isObject(d.value.spec) ? d.value.spec : {};
    const pk = isObject(spec.paramKind) ? spec.paramKind : undefined;
    if (pk) paramKinds.add(`${String(pk.apiVersion)}/${String(pk.kind)}`);
  });
  for (const o of all.others) {
    if (!paramKinds.has(`${String(o.value.apiVersion)}/${String(o.value.kind)}`)) throw notAPolicy(o.source, o.value);
  }
  const store = params ?? staticParamStore(all.others.map((o) => o.value));
  bind?.(store);
  return [...all.policies, ...compileAdmissionPolicies(all.admission, { params: store })];
}

/**
 * Parses and compiles the documents of one policy file (text already read),
 * admission policies and their bindings included (resolved within the text).
 * Throws PolicyError.
 */
export function compilePolicyText(text: string, file: string, opts: Omit<CompileOptions, 'params'> & { baseDir?: string; files?: KustomizationFiles; frontDoor?: FrontDoor; params?: ParamStore }): CompiledPolicy[] {
  let store: ParamStore | undefined;
  const docs = readPolicyText(text, file, { ...opts, params: () => store });
  return resolvePolicyDocuments(docs, opts.params, (s) => {
    store = s;
  });
}

/**
 * Loads every policy named by `paths` (files or directories) and compiles them
 * into a PolicySet. Relative `path:` references resolve against each file's
 * directory. Throws PolicyError (file, document, path, reason).
 */
export function loadPolicies(paths: string[], options: LoadOptions = {}): LoadedPolicies {
  const registry = options.registry ?? builtinRegistry();
  const files = paths.flatMap(expandPolicyPath);
  const all: PolicyDocuments = { policies: [], admission: [], others: [], paramKinds: [] };
  let store: ParamStore | undefined;
  const params = (): ParamStore | undefined => store;
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new PolicyError({ file, document: 0 }, '', (e as Error).message, 'ERR_POLICY_READ');
    }
    const baseDir = dirname(file);
    const readFile = (p: string): string => readFileSync(resolve(baseDir, p), 'utf8');
    const docs = readPolicyText(text, file, { registry, readFile, baseDir, files: FILES, frontDoor: options.frontDoor, compileCondition: options.compileCondition, ownNamespace: options.ownNamespace, params });
    all.policies.push(...docs.policies);
    all.admission.push(...docs.admission);
    all.others.push(...docs.others);
    all.paramKinds.push(...docs.paramKinds);
  }
  const policies = mergeGatekeeperPolicies(
    resolvePolicyDocuments(all, options.params, (s) => {
      store = s;
    }),
  );
  const seen = new Set<string>();
  for (const p of policies) {
    if (p.kind !== 'Kustomization' && seen.has(p.name)) throw new PolicyError(p.source, 'metadata.name', errorMessage('ERR_POLICY_DUPLICATE_NAME', p.name), 'ERR_POLICY_DUPLICATE_NAME');
    seen.add(p.name);
  }
  return { set: createPolicySet(policies), policies, files };
}
