/**
 * The `images` transformer: kustomize `images` (builtin ImageTagTransformer:
 * api/filters/imagetag legacy.go, then imagetag.go over the images field
 * specs; image parsing as api/image/image.go). Conformance findings 19-22.
 */
import type { RE2JS } from 're2js';
import { re2js } from '../kube/re2.js';
import { IMAGES_FIELD_SPECS, type FieldSetter, type FieldWhere } from '../kube/fieldspecs.js';
import { isObject, podTemplateLocation, setOwn, type JsonObject, type JsonValue, type KubeObject, type PodTemplateLocation } from '../kube/object.js';
import { specProgram } from './apply-specs.js';
import { decodeStruct, joinPath, optList, optString } from './decode.js';
import { imageRewrite, podImagesInOnePass } from './images-pod.js';
import { ConfigError, TransformError, type TransformContext, type TransformerFactory } from './types.js';

/** One kustomize `images` entry. Empty strings mean "not set" (Go zero values). */
export interface ImageEntry {
  name: string;
  newName: string;
  newTag: string;
  digest: string;
}

/**
 * Splits an image reference into name, tag and digest, as kustomize
 * api/image/image.go `Split`: the registry host (before the first `/`) is
 * skipped when looking for `:` and `@`, so `localhost:5000/app` has no tag.
 */
export function splitImage(image: string): { name: string; tag: string; digest: string } {
  const slash = image.indexOf('/');
  const offset = slash > 0 ? slash : 0;
  const search = image.slice(offset);
  const id = search.indexOf('@');
  const ic = search.indexOf(':');
  if (ic < 0 && id < 0) return { name: image, tag: '', digest: '' };
  if (id >= 0 && (id < ic || ic < 0)) return { name: image.slice(0, id + offset), tag: '', digest: image.slice(id + offset + 1) };
  if (id >= 0) return { name: image.slice(0, ic + offset), tag: image.slice(ic + offset + 1, id + offset), digest: image.slice(id + offset + 1) };
  return { name: image.slice(0, ic + offset), tag: image.slice(ic + offset + 1), digest: '' };
}

/**
 * The updated image string for one entry, or `image` itself when the entry's
 * name does not match (kustomize imagetag/updater.go). Matching is
 * `^<name>(:tag)?(@sha256:digest)?$` with `name` used as a regex, exactly as
 * kustomize (no docker.io normalisation, conformance 098). `newTag` drops an
 * existing digest unless `digest` is also given; `newName` keeps tag and
 * digest; nothing is validated (099, 100, 102, 104).
 */
export function updateImage(image: string, e: ImageEntry, matches: (s: string) => boolean): string {
  if (!matches(image)) return image;
  let { name, tag, digest } = splitImage(image);
  if (e.newName !== '') name = e.newName;
  if (e.newTag !== '' && e.digest !== '') {
    tag = e.newTag;
    digest = e.digest;
  } else if (e.newTag !== '') {
    tag = e.newTag;
    digest = '';
  } else if (e.digest !== '') {
    tag = '';
    digest = e.digest;
  }
  return name + (tag !== '' ? `:${tag}` : '') + (digest !== '' ? `@${digest}` : '');
}

const TAG_CLASS = '[a-zA-Z0-9_.{}-]';

/** What may follow the name in a matched image, as in the RE2 pattern below (linear: no nested quantifiers); sticky: tested from `lastIndex`. */
const IMAGE_SUFFIX = new RegExp(`(?::${TAG_CLASS}*)?(?:@sha256:${TAG_CLASS}*)?$`, 'y');
/** Image names whose only regex syntax is `.` (registry hosts, `quay.io/org/app`): most names. */
const PLAIN_NAME = /^[A-Za-z0-9_./-]+$/;
/** ASCII without line breaks: where a one-UTF-16-unit `.` is exactly RE2's one-code-point `.`. */
// eslint-disable-next-line no-control-regex -- the class is every ASCII code unit but \n, control characters included on purpose
const ASCII_LINE = /^[\x00-\x09\x0b-\x7f]*$/;

/** The anchored RE2 image matcher of kustomize for `name` (throws for an invalid regex). */
function compileImageRegex(name: string): RE2JS {
  return re2js().compile(`^${name}(:${TAG_CLASS}*)?(@sha256:${TAG_CLASS}*)?$`);
}

/**
 * The matcher for a name without regex syntax other than `.`: the regex
 * `^name(...)` then consumes exactly `name.length` characters, each `.` any
 * character but a newline, so a character-by-character comparison plus the
 * suffix check is the same test, without running the regex engine per image.
 * Non-ASCII input takes the regex (`.` is a code point there), compiled then:
 * such a name (letters, digits, `_./-`) is always a valid regex, so nothing
 * is left to check at load, and re2js loads only if such input comes.
 * Before the name's first `.`, every character of the name is a literal that
 * must equal the image's character at the same index in any input (no `.`
 * before it can have taken two UTF-16 units), so a difference there rejects
 * the image before the ASCII check: most images are rejected at their first
 * character.
 */
function plainNameMatcher(name: string): (s: string) => boolean {
  const n = name.length;
  const firstDot = name.indexOf('.');
  const literal = firstDot < 0 ? n : firstDot;
  let re: RE2JS | undefined;
  return (s) => {
    for (let i = 0; i < literal; i++) if (s.charCodeAt(i) !== name.charCodeAt(i)) return false;
    if (!ASCII_LINE.test(s)) return (re ??= compileImageRegex(name)).matcher(s).find();
    if (s.length < n) return false;
    for (let i = literal; i < n; i++) {
      const c = name.charCodeAt(i);
      if (c !== 46 /* . */ && s.charCodeAt(i) !== c) return false;
    }
    IMAGE_SUFFIX.lastIndex = n;
    return IMAGE_SUFFIX.test(s);
  };
}

/**
 * Compiles the kustomize image matcher (api/image IsImageMatched): true when an
 * image string is `name` (a Go/RE2 regex, anchored) optionally followed by
 * `:tag` and/or `@sha256:digest`. As Go's `MatchString`, the pattern
 * `^name(...)?(...)?$` is searched for, not matched whole: the same for a
 * plain name, but `name: "*"` makes it `^*...`, which matches every image at
 * its end (kustomize users write it to retag every image), and an
 * alternation such as `a|b` leaves `^a` unanchored at the end. Throws
 * ConfigError for an invalid regex (`path` locates the entry in the policy).
 */
export function compileImageMatcher(name: string, path: string): (s: string) => boolean {
  if (PLAIN_NAME.test(name)) return plainNameMatcher(name);
  try {
    const re = compileImageRegex(name);
    return (s) => re.matcher(s).find();
  } catch (err) {
    throw new ConfigError(`invalid image name ${JSON.stringify(name)}: ${(err as Error).message}`, path);
  }
}

/** Setter for an `image` scalar found by a field spec or the legacy walk. */
function imageSetter(update: (s: string) => string): FieldSetter {
  return (current, at) => {
    if (typeof current === 'string') {
      const next = update(current);
      return next === current ? current : next;
    }
    if (current === undefined || current === null || typeof current !== 'object') return current as JsonValue;
    throw new TransformError(`expected a scalar image at ${at.path}`, at.path);
  };
}

type Keys = readonly (string | number)[];

/** JSON pointer of `keys` (built only for error messages of the image setter). */
function pointer(keys: Keys): string {
  return keys.map((k) => `/${k}`).join('');
}

/** The setter reads the path only to reject a map or list: scalars get this one. */
const SCALAR_IMAGE: FieldWhere = { path: '' };

/** Updates `image` in each map element of a `containers`/`initContainers` list (legacy.go checkImageTagsFn). */
function updateContainerList(list: JsonValue[], set: FieldSetter, keys: Keys): JsonValue[] {
  let out: JsonValue[] | undefined;
  for (let i = 0; i < list.length; i++) {
    const el = list[i];
    if (!isObject(el) || !('image' in el)) continue;
    const img = el.image;
    const next = set(img, typeof img === 'object' && img !== null ? { path: `${pointer(keys)}/${i}/image` } : SCALAR_IMAGE);
    if (next === el.image) continue;
    out ??= list.slice();
    out[i] = { ...el, image: next };
  }
  return out ?? list;
}

/** containerLists over the elements of a list (only maps and lists can hold containers). */
function containerListsInList(node: JsonValue[], stack: (string | number)[], out: Keys[]): Keys[] {
  for (let i = 0; i < node.length; i++) {
    const el = node[i];
    if (typeof el !== 'object' || el === null) continue;
    stack.push(i);
    containerLists(el, stack, out);
    stack.pop();
  }
  return out;
}

/**
 * The legacy filter's targets: every field named `containers` or
 * `initContainers` that holds a list, at any depth and on any kind
 * (conformance 096), children first (legacy.go walks depth first). Found once
 * per object: entries only rewrite `image` strings inside those lists, so the
 * locations are the same for every entry, and the whole-object walk (the
 * transformer's main cost) runs once instead of once per entry. `stack` holds
 * the keys of the current node; a location is copied only where a list is found.
 */
function containerLists(node: JsonValue, stack: (string | number)[], out: Keys[]): Keys[] {
  if (Array.isArray(node)) return containerListsInList(node, stack, out);
  if (!isObject(node)) return out;
  // for-in: no key array per node (this walk is the transformer's main cost).
  for (const k in node) {
    const v = node[k];
    if (typeof v !== 'object' || v === null || !Object.prototype.hasOwnProperty.call(node, k)) continue;
    stack.push(k);
    containerLists(v, stack, out);
    if ((k === 'containers' || k === 'initContainers') && Array.isArray(v)) out.push(stack.slice());
    stack.pop();
  }
  return out;
}

/**
 * The legacy filter's targets for a pod-bearing built-in kind at admission,
 * without walking the object: the API server decodes built-in kinds into their
 * Go types before calling webhooks, so unknown fields are gone and the only
 * `containers`/`initContainers` fields are the pod spec's (PodSpec, and the
 * workload types around it, have no free-form JSON fields). Undefined for
 * other kinds (a CRD's or ControllerRevision's free-form data may hold such
 * fields anywhere: those take the full walk). Rendered input keeps unknown
 * fields, so `run` always walks.
 */
function typedContainerLists(obj: KubeObject): Keys[] | undefined {
  const loc = podTemplateLocation(obj);
  if (!loc) return undefined;
  const spec = podSpecAt(obj, loc);
  if (!isObject(spec)) return [];
  const keys = listKeysOf(loc);
  const out: Keys[] = [];
  for (const k in spec) {
    if (k === 'containers' && Array.isArray(spec[k])) out.push(keys.containers);
    else if (k === 'initContainers' && Array.isArray(spec[k])) out.push(keys.initContainers);
  }
  return out;
}

/** The pod spec at a pod template location (undefined when a map is missing on the way). */
function podSpecAt(obj: KubeObject, loc: PodTemplateLocation): JsonValue | undefined {
  let spec: JsonValue = obj;
  for (const k of loc.path) spec = isObject(spec) ? spec[k] : undefined as unknown as JsonValue;
  return isObject(spec) ? spec.spec : undefined;
}

/** The keys of a pod template's two container lists (made once per location: they are read, never changed). */
function listKeysOf(loc: PodTemplateLocation): { containers: Keys; initContainers: Keys } {
  let keys = LIST_KEYS.get(loc);
  if (!keys) LIST_KEYS.set(loc, (keys = { containers: [...loc.path, 'spec', 'containers'], initContainers: [...loc.path, 'spec', 'initContainers'] }));
  return keys;
}

/** listKeysOf by location (a constant table of a few entries). */
const LIST_KEYS = new Map<PodTemplateLocation, { containers: Keys; initContainers: Keys }>();

/** Copy-on-write `updateContainerList` of the list at `keys` (same reference when nothing changes). */
function updateListAt(node: JsonValue, keys: Keys, i: number, set: FieldSetter): JsonValue {
  if (i === keys.length) return updateContainerList(node as JsonValue[], set, keys);
  const key = keys[i];
  if (Array.isArray(node)) {
    const child = node[key as number];
    const next = updateListAt(child, keys, i + 1, set);
    if (next === child) return node;
    const copy = node.slice();
    copy[key as number] = next;
    return copy;
  }
  const obj = node as JsonObject;
  const child = obj[key as string];
  const next = updateListAt(child, keys, i + 1, set);
  if (next === child) return node;
  const copy = { ...obj };
  setOwn(copy, key as string, next);
  return copy;
}

/** One compiled entry: its image update, its setter, and the images field specs compiled with it. */
interface Entry {
  readonly update: (image: string) => string;
  readonly set: FieldSetter;
  readonly specs: (obj: KubeObject) => KubeObject;
}

/** One entry as kustomize runs it: the legacy filter at `lists` (none for CRDs), then the images field specs. */
function applyEntry(obj: KubeObject, lists: readonly Keys[], entry: Entry): KubeObject {
  let out: JsonValue = obj;
  for (const keys of lists) out = updateListAt(out, keys, 0, entry.set);
  return entry.specs(out as KubeObject);
}

const ENTRY_KEYS = ['name', 'newName', 'newTag', 'digest'] as const;

/** Decodes the config list strictly (kustomize types.Image; `newTag: 1.20` is an error, conformance 235). */
function decodeEntries(config: unknown): ImageEntry[] {
  return optList(config, '').map((raw, i) => {
    const p = joinPath('', i);
    const m = decodeStruct(raw, p, ENTRY_KEYS);
    return {
      name: optString(m.name, joinPath(p, 'name')),
      newName: optString(m.newName, joinPath(p, 'newName')),
      newTag: optString(m.newTag, joinPath(p, 'newTag')),
      digest: optString(m.digest, joinPath(p, 'digest')),
    };
  });
}

/**
 * `images` (`imagesTransformer`): a list of `{name, newName?, newTag?, digest?}`.
 * Entries apply in order, each as one kustomize ImageTagTransformer: first
 * every `image` in any `containers`/`initContainers` list at any depth (not
 * CustomResourceDefinitions, not `ephemeralContainers`, conformance 103), then
 * the images field specs (pod spec and pod template containers). Image
 * volumes are not touched, as in v5.5. An entry without `name` is ignored (105).
 *
 * Because the field-spec pass runs after the legacy walk, an entry can hit
 * the same field twice in one run: a `newName` carrying a digest gives
 * `redis@sha256:x@sha256:x` on a pod template (conformance 102). Not
 * idempotent where kustomize is not: when `newName` itself matches `name`
 * (`name: a, newName: a:1`), a second run rewrites again (`a:1` -> `a:1:1`).
 *
 * Throws ConfigError for a non-list config, unknown keys, non-string fields
 * (path like `[0].newTag`) or a name that is not a valid regex.
 */
export const imagesTransformer: TransformerFactory = (config, opts) => {
  const entries = compileEntries(config);
  const rewrite = imageRewrite(entries.map((e) => e.update));
  return {
    type: 'images',
    name: opts.name,
    apply: (obj, ctx) => {
      if (entries.length === 0) return obj;
      if (ctx.frontDoor === 'admission') {
        const loc = podTemplateLocation(obj);
        const once = loc && podImagesInOnePass(obj, loc, rewrite);
        if (once) return once;
      }
      return applyInPasses(obj, ctx, entries);
    },
  };
};

/**
 * The images transformer's `apply` without the admission one-pass path
 * (`podImagesInOnePass`): kustomize's passes, entry by entry. The reference
 * of the tests that compare the two. Throws as `imagesTransformer` does.
 */
export function imagesInPasses(config: unknown): (obj: KubeObject, ctx: TransformContext) => KubeObject {
  const entries = compileEntries(config);
  return (obj, ctx) => (entries.length === 0 ? obj : applyInPasses(obj, ctx, entries));
}

/** The entries of a config, compiled (entries without a name dropped). Throws ConfigError (see imagesTransformer). */
function compileEntries(config: unknown): Entry[] {
  return decodeEntries(config).flatMap((e, i): Entry[] => {
    if (e.name === '') return [];
    const matches = compileImageMatcher(e.name, joinPath(joinPath('', i), 'name'));
    const update = (s: string): string => updateImage(s, e, matches);
    const set = imageSetter(update);
    return [{ update, set, specs: specProgram(IMAGES_FIELD_SPECS, 'none', set) }];
  });
}

/** Each entry in order: the legacy filter over the container lists, then the images field specs. */
function applyInPasses(obj: KubeObject, ctx: TransformContext, entries: readonly Entry[]): KubeObject {
  const lists = obj.kind === 'CustomResourceDefinition' ? [] : (ctx.frontDoor === 'admission' && typedContainerLists(obj)) || containerLists(obj, [], []);
  return entries.reduce((o, e) => applyEntry(o, lists, e), obj);
}
