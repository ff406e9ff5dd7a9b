/**
 * A kustomize `Kustomization` accepted as a policy: its transform fields, and
 * those of the bases and components it includes, become one policy whose chain
 * runs in kustomize's own order (kustomize v5.5 api/internal/target
 * kusttarget.go `accumulateTarget` and kusttarget_configplugin.go; conformance
 * finding 32).
 *
 * One kustomization's built-in transformers run in this fixed order, whatever
 * the order of the fields in the file:
 *
 *   patchesStrategicMerge -> patches -> namespace -> labels[] -> commonLabels
 *   -> commonAnnotations -> patchesJson6902 -> replicas -> images (then the
 *   deprecated imageTags, appended to images by FixKustomization) -> replacements
 *
 * `replacements` (one transformer per entry) copy values between objects in
 * `run` (the render evaluates the stream at each entry); loaded for admission
 * (the default), an entry that could copy from another object than the one it
 * changes is a load error (src/transform/replacements.ts).
 *
 * Composition (`accumulateTarget`): first every `resources` entry in order (a
 * directory holding a kustomization is built on its own, its transforms
 * applying to what it contributes), then every `components` entry in order (a
 * `kind: Component` kustomization whose transforms apply to everything
 * accumulated so far), then the kustomization's own transforms over
 * everything. The input (stdin, or the admitted object) stands for the file
 * resources of the tree, so the chain is: the base's chain, the components'
 * chains, the overlay's own. File resources are ignored (the input replaces
 * them); remote resources (git, URLs) are a load error, as is a cycle, a
 * component listed as a resource (or a Kustomization as a component), and two
 * sibling bases that both carry transforms (kustomize applies each base's
 * transforms to that base's own objects, and the input cannot be split
 * between them). The deprecated `bases` field is read as `resources`
 * (FixKustomization).
 *
 * Generators and cross-object transforms are a clear error naming the field.
 * Decoding is strict like kustomize's: unknown fields are errors (finding 40).
 */
import { isAbsolute, relative, resolve } from 'node:path';
import { isObject } from '../kube/object.js';
import { ManifestParseError, parseManifests } from '../kube/yaml-stream.js';
import { type FactoryOptions, type Transformer, type TransformerFactory } from '../transform/types.js';
import { patchTransformer, patchesJson6902Transformer, patchesStrategicMergeTransformer } from '../transform/patch.js';
import { imagesTransformer } from '../transform/images.js';
import { commonLabelsTransformer, labelsTransformer } from '../transform/labels.js';
import { annotationsTransformer } from '../transform/annotations.js';
import { replicasTransformer } from '../transform/replicas.js';
import { namespaceTransformer } from '../transform/namespace.js';
import { compileReplacement, crossObjectReason, replacementEntries, replacementTransformer } from '../transform/replacements.js';
import type { FrontDoor } from '../transform/types.js';
import { errorMessage } from '../errors.js';
import { PolicyError, toPolicyError, type CompiledPolicy, type PolicySource } from './compile.js';

/** The file names kustomize looks for in a directory (konfig.RecognizedKustomizationFileNames). */
export const KUSTOMIZATION_NAMES: readonly string[] = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];

const KUSTOMIZATION_VERSION = 'kustomize.config.k8s.io/v1beta1';
const COMPONENT_VERSION = 'kustomize.config.k8s.io/v1alpha1';

/** Kustomization fields that are accepted and ignored (`resources`, `bases` and `components` are read by the composition). */
const IGNORED = new Set(['apiVersion', 'kind', 'metadata', 'resources', 'bases', 'components', 'sortOptions', 'buildMetadata', 'openapi']);

/** Kustomization fields kustomize has but a one-object-at-a-time post-renderer cannot honour. */
const UNSUPPORTED: Record<string, string> = {
  namePrefix: 'renames objects (cross-object name references)',
  nameSuffix: 'renames objects (cross-object name references)',
  configMapGenerator: 'generates objects',
  secretGenerator: 'generates objects',
  generatorOptions: 'configures generators',
  generators: 'runs generator plugins',
  transformers: 'runs transformer plugins',
  validators: 'runs validator plugins',
  crds: 'loads CRD schemas',
  helmCharts: 'inflates Helm charts',
  helmGlobals: 'inflates Helm charts',
  helmChartInflationGenerator: 'inflates Helm charts',
  vars: 'substitutes cross-object variables (use replacements)',
  configurations: 'changes transformer field specs',
  inventory: 'generates an inventory object',
};

/** One stage of kustomize's order: the fields it reads (list fields are concatenated) and how they become transformers. */
interface Stage {
  fields: readonly string[];
  list: boolean;
  /** One transformer per list entry (patches), or one for the whole (concatenated) value. */
  perEntry: boolean;
  factory: TransformerFactory;
}

/** The stages in kustomize's order (kusttarget_configplugin.go `configureBuiltinTransformers`). */
const STAGES: readonly Stage[] = [
  { fields: ['patchesStrategicMerge'], list: true, perEntry: true, factory: patchesStrategicMergeTransformer },
  { fields: ['patches'], list: true, perEntry: true, factory: patchTransformer },
  { fields: ['namespace'], list: false, perEntry: false, factory: namespaceTransformer },
  { fields: ['labels'], list: true, perEntry: true, factory: labelsTransformer },
  { fields: ['commonLabels'], list: false, perEntry: false, factory: commonLabelsTransformer },
  { fields: ['commonAnnotations'], list: false, perEntry: false, factory: annotationsTransformer },
  { fields: ['patchesJson6902'], list: true, perEntry: true, factory: patchesJson6902Transformer },
  { fields: ['replicas'], list: false, perEntry: false, factory: replicasTransformer },
  // FixKustomization appends the deprecated imageTags to images: one ImageTagTransformer run.
  { fields: ['images', 'imageTags'], list: true, perEntry: false, factory: imagesTransformer },
  { fields: ['replacements'], list: true, perEntry: true, factory: replacementTransformer },
];

const STAGE_FIELDS = new Set(STAGES.flatMap((s) => s.fields));

/**
 * File access for a kustomization tree (injected: tests and `policiesFromText`
 * may have none). Paths are absolute.
 */
export interface KustomizationFiles {
  /** What is at `path`. */
  kind(path: string): 'file' | 'dir' | 'missing';
  /** Reads a file as UTF-8; throws when it cannot. */
  read(path: string): string;
}

/** Options of `compileKustomization`. */
export interface KustomizationOptions {
  /** Directory of the kustomization file: resolves `path:` references, `resources` and `components`. */
  baseDir?: string;
  /** Reads a file relative to `baseDir` (patch `path:` references). */
  readFile?: (path: string) => string;
  /** File access for bases and components; absent: a directory entry is a load error. */
  files?: KustomizationFiles;
  /**
   * The front door the policy is loaded for (default `admission`): at
   * admission a `replacements` entry may only copy within the admitted object.
   */
  frontDoor?: FrontDoor;
}

/**
 * True when a parsed document is a Kustomization (or, with `fileName` one of
 * kustomize's kustomization file names, a document without `kind`, as kustomize
 * reads `kustomization.yaml` without apiVersion and kind: FixKustomization).
 */
export function isKustomization(doc: unknown, fileName?: string): boolean {
  if (!isObject(doc)) return false;
  if (doc.kind === 'Kustomization') {
    return doc.apiVersion === undefined || (typeof doc.apiVersion === 'string' && doc.apiVersion.startsWith('kustomize.config.k8s.io/'));
  }
  return fileName !== undefined && KUSTOMIZATION_NAMES.includes(fileName) && (doc.kind === undefined || doc.kind === 'Component');
}

/** Remote resources kustomize would fetch (api/internal/git `NewRepoSpecFromURL`, loader `IsRemoteFile`). */
function isRemote(entry: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(entry) || /^git@/.test(entry) || /^(github\.com|gitlab\.com|bitbucket\.org)\//.test(entry) || /[?&]ref=/.test(entry) || entry.includes('.git//');
}

/** A kustomization being compiled: its file, directory and the chain of directories that led to it (cycle check). */
interface Frame {
  source: PolicySource;
  dir?: string;
  /** Directories from the root kustomization down to this one. */
  stack: readonly string[];
  /** Prefix of transformer names (`base/` for a base), '' at the root. */
  prefix: string;
  opts: KustomizationOptions;
}

/** Checks apiVersion and kind as kustomize's EnforceFields does; returns the kind. */
function enforceFields(doc: Record<string, unknown>, source: PolicySource): 'Kustomization' | 'Component' {
  const kind = doc.kind === undefined ? 'Kustomization' : doc.kind;
  if (kind !== 'Kustomization' && kind !== 'Component') throw new PolicyError(source, 'kind', 'kind should be Kustomization or Component', 'ERR_POLICY_SCHEMA');
  const required = kind === 'Component' ? COMPONENT_VERSION : KUSTOMIZATION_VERSION;
  if (doc.apiVersion !== undefined && doc.apiVersion !== required) {
    throw new PolicyError(source, 'apiVersion', `apiVersion for ${kind} should be ${required}`, 'ERR_POLICY_SCHEMA');
  }
  return kind;
}

/** Rejects fields that are neither transforms, composition, nor ignored. */
function checkFields(doc: Record<string, unknown>, source: PolicySource): void {
  for (const key of Object.keys(doc)) {
    if (IGNORED.has(key) || STAGE_FIELDS.has(key)) continue;
    if (UNSUPPORTED[key]) throw new PolicyError(source, key, `not supported: ${key} ${UNSUPPORTED[key]}, which a post-renderer seeing one object at a time cannot do`, 'ERR_POLICY_UNSUPPORTED');
    throw new PolicyError(source, key, `unknown Kustomization field "${key}"`, 'ERR_POLICY_UNSUPPORTED');
  }
}

/** A list of strings (`resources`, `bases`, `components`), or a PolicyError. */
function stringList(doc: Record<string, unknown>, field: string, source: PolicySource): string[] {
  const v = doc[field];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new PolicyError(source, field, 'must be a list', 'ERR_POLICY_SCHEMA');
  return v.map((x, i) => {
    if (typeof x !== 'string') throw new PolicyError(source, `${field}[${i}]`, 'must be a string', 'ERR_POLICY_SCHEMA');
    return x;
  });
}

/** The kustomization file of a directory, or a PolicyError naming the directory (kustomize: "unable to find one of ..."). */
function kustomizationFileOf(dir: string, files: KustomizationFiles, source: PolicySource, path: string): string {
  const found = KUSTOMIZATION_NAMES.map((n) => resolve(dir, n)).filter((f) => files.kind(f) === 'file');
  if (found.length === 0) throw new PolicyError(source, path, `unable to find one of ${KUSTOMIZATION_NAMES.map((n) => `'${n}'`).join(', ')} in directory '${dir}'`, 'ERR_POLICY_KUSTOMIZE_TREE');
  if (found.length > 1) throw new PolicyError(source, path, `found multiple kustomization files under: ${dir}`, 'ERR_POLICY_KUSTOMIZE_TREE');
  return found[0] as string;
}

/** Reads and parses the one document of a kustomization file. */
function readKustomization(file: string, files: KustomizationFiles, from: PolicySource, path: string): Record<string, unknown> {
  let text: string;
  try {
    text = files.read(file);
  } catch (e) {
    throw new PolicyError(from, path, `cannot read ${file}: ${(e as Error).message}`, 'ERR_POLICY_READ');
  }
  const source = { file, document: 1 };
  let docs;
  try {
    docs = parseManifests(text);
  } catch (e) {
    if (!(e instanceof ManifestParseError)) throw e;
    throw new PolicyError({ file, document: e.docNumber }, '', errorMessage('ERR_POLICY_YAML', e.line, e.col, e.reason), 'ERR_POLICY_YAML');
  }
  const doc = docs[0]?.value ?? {};
  if (docs.length > 1) throw new PolicyError(source, '', 'a kustomization file holds one document', 'ERR_POLICY_KUSTOMIZE_TREE');
  if (!isObject(doc)) throw new PolicyError(source, '', 'a kustomization must be a map', 'ERR_POLICY_SCHEMA');
  return doc;
}

/** The chains of a sub-kustomization (a base or a component) in directory `dir`. */
function compileChild(dir: string, want: 'base' | 'component', frame: Frame, path: string): Transformer[] {
  const files = frame.opts.files as KustomizationFiles;
  if (frame.stack.includes(dir)) {
    throw new PolicyError(frame.source, path, `cycle: ${[...frame.stack, dir].join(' -> ')}`, 'ERR_POLICY_KUSTOMIZE_CYCLE');
  }
  const file = kustomizationFileOf(dir, files, frame.source, path);
  const doc = readKustomization(file, files, frame.source, path);
  const source = { file, document: 1 };
  const kind = enforceFields(doc, source);
  if (want === 'component' && kind !== 'Component') throw new PolicyError(frame.source, path, `expected kind 'Component' for path '${dir}' but got '${kind}'`, 'ERR_POLICY_KUSTOMIZE_TREE');
  if (want === 'base' && kind === 'Component') throw new PolicyError(frame.source, path, `expected kind != 'Component' for path '${dir}' (list components under components:)`, 'ERR_POLICY_KUSTOMIZE_TREE');
  const root = frame.stack[0] as string;
  const rel = relative(root, dir) || '.';
  return compileTree(doc, {
    source,
    dir,
    stack: [...frame.stack, dir],
    prefix: `${rel}/`,
    opts: { files, baseDir: dir, readFile: (p) => files.read(isAbsolute(p) ? p : resolve(dir, p)), frontDoor: frame.opts.frontDoor },
  });
}

/** What a `resources` or `components` entry is: a directory (absolute path), or nothing to compile. */
function resolveEntry(entry: string, field: string, frame: Frame, path: string): string | undefined {
  if (isRemote(entry)) {
    throw new PolicyError(frame.source, path, `remote ${field} entry ${JSON.stringify(entry)} is not supported: kube-postrender loads no git repositories or URLs (vendor it into a local directory)`, 'ERR_POLICY_KUSTOMIZE_REMOTE');
  }
  const files = frame.opts.files;
  if (!files || frame.dir === undefined) {
    // No file system (policiesFromText): file resources are ignored; a component cannot be read.
    if (field === 'components') throw new PolicyError(frame.source, path, 'components need the kustomization to be loaded from a file', 'ERR_POLICY_KUSTOMIZE_TREE');
    return undefined;
  }
  const abs = resolve(frame.dir, entry);
  const what = files.kind(abs);
  if (what === 'dir') return abs;
  if (field === 'components') throw new PolicyError(frame.source, path, `component ${JSON.stringify(entry)} must be a directory holding a kustomization (${what === 'missing' ? 'no such directory' : 'a file'})`, 'ERR_POLICY_KUSTOMIZE_TREE');
  // A file resource (present or not): the input stands for it.
  return undefined;
}

/** The chains of the bases named by `resources` (and the deprecated `bases`), in order. */
function compileBases(doc: Record<string, unknown>, frame: Frame): Transformer[] {
  const out: Transformer[] = [];
  let carrying: string | undefined;
  for (const field of ['resources', 'bases']) {
    stringList(doc, field, frame.source).forEach((entry, i) => {
      const path = `${field}[${i}]`;
      const dir = resolveEntry(entry, field, frame, path);
      if (dir === undefined) return;
      const chain = compileChild(dir, 'base', frame, path);
      if (chain.length === 0) return;
      if (carrying !== undefined) {
        throw new PolicyError(frame.source, path, `two bases carry transforms (${carrying} and ${entry}): kustomize applies each base's transforms to that base's own objects, and the input cannot be split between them (make one a component)`, 'ERR_POLICY_KUSTOMIZE_TREE');
      }
      carrying = entry;
      out.push(...chain);
    });
  }
  return out;
}

/** The chains of the `components` entries, in order. */
function compileComponents(doc: Record<string, unknown>, frame: Frame): Transformer[] {
  return stringList(doc, 'components', frame.source).flatMap((entry, i) => {
    const path = `components[${i}]`;
    const dir = resolveEntry(entry, 'components', frame, path) as string;
    return compileChild(dir, 'component', frame, path);
  });
}

/** The value of a stage: its fields' values (list fields concatenated), or undefined when none is set. */
function stageValue(doc: Record<string, unknown>, stage: Stage, source: PolicySource): unknown {
  const set = stage.fields.filter((f) => doc[f] !== undefined && doc[f] !== null);
  if (set.length === 0) return undefined;
  if (!stage.list) return doc[set[0] as string];
  for (const f of set) if (!Array.isArray(doc[f])) throw new PolicyError(source, f, 'must be a list', 'ERR_POLICY_SCHEMA');
  return set.flatMap((f) => doc[f] as unknown[]);
}

/**
 * The entries of one `replacements` item (its `path:` file may hold one entry
 * or a list), each checked for the front door: at admission an entry must copy
 * within the admitted object. Throws ConfigError / PolicyError.
 */
function replacementItems(entry: unknown, fopts: FactoryOptions, at: { frontDoor?: FrontDoor; source: PolicySource; path: string }): unknown[] {
  const items = replacementEntries(entry, fopts).flatMap((e) => {
    if (typeof e !== 'string') return [e];
    return parseManifests(e).flatMap((d) => (Array.isArray(d.value) ? d.value : [d.value]));
  });
  if (at.frontDoor === 'render') return items;
  for (const item of items) {
    const why = crossObjectReason(compileReplacement(item));
    if (why) throw new PolicyError(at.source, at.path, errorMessage('ERR_POLICY_CROSS_OBJECT', why), 'ERR_POLICY_CROSS_OBJECT');
  }
  return items;
}

/** The kustomization's own transformers, in kustomize's order. */
function compileOwn(doc: Record<string, unknown>, frame: Frame): Transformer[] {
  const { source, prefix, opts } = frame;
  const out: Transformer[] = [];
  const fopts = (n: string): FactoryOptions => ({ name: `${prefix}${n}`, baseDir: opts.baseDir, readFile: opts.readFile });
  for (const stage of STAGES) {
    const field = stage.fields[0] as string;
    const value = stageValue(doc, stage, source);
    if (value === undefined) continue;
    if (!stage.perEntry) {
      try {
        out.push(stage.factory(value, fopts(field)));
      } catch (e) {
        throw toPolicyError(e, source, field);
      }
      continue;
    }
    (value as unknown[]).forEach((entry, i) => {
      try {
        const entries = field === 'replacements' ? replacementItems(entry, fopts(`${field}[${i}]`), { frontDoor: opts.frontDoor, source, path: `${field}[${i}]` }) : [entry];
        for (const e of entries) out.push(stage.factory(e, fopts(`${field}[${i}]`)));
      } catch (e) {
        throw toPolicyError(e, source, `${field}[${i}]`);
      }
    });
  }
  return out;
}

/** The whole chain of one kustomization: bases, then components, then its own transforms (accumulateTarget). */
function compileTree(doc: Record<string, unknown>, frame: Frame): Transformer[] {
  checkFields(doc, frame.source);
  return [...compileBases(doc, frame), ...compileComponents(doc, frame), ...compileOwn(doc, frame)];
}

/**
 * Compiles a Kustomization document (with its bases and components) into one
 * policy named `name`. `opts.baseDir` resolves `path:` references, resources
 * and components; `opts.files` reads the tree (absent: directory entries are
 * ignored as resources, and components are an error). Throws PolicyError
 * naming the file (the base's or component's own where the error is there),
 * the field and the reason.
 */
export function compileKustomization(
  doc: Record<string, unknown>,
  name: string,
  source: PolicySource,
  opts: KustomizationOptions,
): CompiledPolicy {
  const kind = enforceFields(doc, source);
  if (kind === 'Component') throw new PolicyError(source, 'kind', 'a Component is included by a Kustomization (components:), not loaded on its own', 'ERR_POLICY_KUSTOMIZE_TREE');
  const dir = opts.baseDir === undefined ? undefined : resolve(opts.baseDir);
  if (dir === undefined || !opts.files) {
    // No tree: file resources are ignored, directories cannot be read.
    if (doc.components !== undefined && doc.components !== null) throw new PolicyError(source, 'components', 'components need the kustomization to be loaded from a file', 'ERR_POLICY_KUSTOMIZE_TREE');
  }
  const transformers = compileTree(doc, { source, dir, stack: dir === undefined ? [] : [dir], prefix: '', opts });
  return {
    name,
    kind: 'Kustomization',
    order: 100,
    failurePolicy: 'Fail',
    mode: 'Enforce',
    hooks: 'include',
    transformers,
    applies: () => '',
    source,
  };
}
