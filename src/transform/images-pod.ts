/**
 * The `images` transformer at admission on a Pod or a workload's pod
 * template, in one pass over its container lists. kustomize runs each entry
 * as two passes (src/transform/images.ts): the legacy filter over every
 * `containers`/`initContainers` list (at admission: the pod spec's, the API
 * server having decoded the kind into its Go type), then the images field
 * specs (`spec/containers[]/image`, `spec/template/spec/containers[]/image`
 * and the initContainers ones). Where the field specs reach exactly the
 * lists the legacy filter rewrote, each image string simply goes through
 * every entry's update twice, in entry order (an image is rewritten
 * independently of the others): this pass does that and copies each
 * changed list, container and map on the way once.
 *
 * It declines (undefined: the passes decide) whenever the passes could do
 * anything else: a kind whose pod template the field specs do not reach
 * (CronJob), a field-spec path that would meet another value (a Pod's
 * `spec.template`, a workload's `spec.containers`), a map missing on the way,
 * a container list that is not a list of maps, or an image that is a map or
 * a list (the passes' error).
 */
import { isObject, setOwn, type JsonObject, type JsonValue, type KubeObject, type PodTemplateLocation } from '../kube/object.js';

/** A value the field specs treat as missing. */
const absent = (v: JsonValue | undefined): boolean => v === undefined || v === null;

/** The container lists' fields, in the order the field specs visit them. */
const LISTS = ['containers', 'initContainers'] as const;

/**
 * The images transformer's result for a Pod (`loc.path` []) or a workload
 * whose pod template is `spec.template`, with `rewrite` (an image through
 * every entry's update twice, in entry order: `imageRewrite`); undefined when the passes must decide (see the module
 * comment). `obj` is never mutated; the result is `obj` itself when no image
 * changes.
 */
export function podImagesInOnePass(obj: KubeObject, loc: PodTemplateLocation, rewrite: (image: string) => string): KubeObject | undefined {
  const spec = obj.spec;
  if (!isObject(spec)) return undefined;
  if (loc.path.length === 0) {
    if (!absent(spec.template)) return undefined;
    const ps = rewrittenPodSpec(spec, rewrite);
    return ps === undefined ? undefined : ps === spec ? obj : replace(obj, 'spec', ps);
  }
  if (loc.path.length !== 2 || !absent(spec.containers) || !absent(spec.initContainers)) return undefined;
  return withTemplateImages(obj, spec, rewrite);
}

/** podImagesInOnePass for a workload whose pod template is `spec.template` (`spec`: obj's). */
function withTemplateImages(obj: KubeObject, spec: JsonObject, rewrite: (image: string) => string): KubeObject | undefined {
  const template = spec.template;
  if (!isObject(template) || !isObject(template.spec)) return undefined;
  const ps = rewrittenPodSpec(template.spec, rewrite);
  return ps === undefined ? undefined : ps === template.spec ? obj : replace(obj, 'spec', replace(spec, 'template', replace(template, 'spec', ps)));
}

/** The pod spec `podSpec` with its images rewritten: podSpec itself when unchanged, undefined to decline. */
function rewrittenPodSpec(podSpec: JsonObject, rewrite: (image: string) => string): JsonObject | undefined {
  let out: JsonObject = podSpec;
  for (const field of LISTS) {
    const list = podSpec[field];
    if (absent(list)) continue;
    if (!Array.isArray(list)) return undefined;
    const next = rewriteList(list, rewrite);
    if (next === undefined) return undefined;
    if (next !== list) out = replace(out, field, next);
  }
  return out;
}

/** The list with each container's image rewritten (the list itself when unchanged); undefined to decline. */
function rewriteList(list: JsonValue[], rewrite: (image: string) => string): JsonValue[] | undefined {
  let out: JsonValue[] | undefined;
  for (let i = 0; i < list.length; i++) {
    const el = list[i];
    if (!isObject(el)) return undefined;
    const image = el.image;
    if (typeof image !== 'string') {
      if (typeof image === 'object' && image !== null) return undefined;
      continue;
    }
    const next = rewrite(image);
    if (next === image) continue;
    out ??= list.slice();
    out[i] = replace(el, 'image', next);
  }
  return out ?? list;
}

/** A copy of `map` with `key` set to `value` (same keys, same order as the passes' copies). */
function replace(map: JsonObject, key: string, value: JsonValue): JsonObject {
  const copy = { ...map };
  setOwn(copy, key, value);
  return copy;
}

/** Most images an `imageRewrite` remembers, and the longest it remembers (characters). */
export const IMAGE_MEMO_ENTRIES = 8;
export const IMAGE_MEMO_MAX_LENGTH = 512;

/**
 * An image through every entry's update twice, in entry order (what the
 * passes do to it at admission), remembering the last IMAGE_MEMO_ENTRIES
 * images and their results: a cluster's Pods from one template carry the
 * same images, so most calls answer by a string comparison instead of the
 * name match, split and join of each entry. The updates are pure functions
 * of the image; a remembered result is the same string they give. Images
 * longer than IMAGE_MEMO_MAX_LENGTH are not remembered (at most 8 x 2 x 512
 * characters are kept).
 */
export function imageRewrite(updates: readonly ((image: string) => string)[]): (image: string) => string {
  const seen: string[] = [];
  const results: string[] = [];
  let next = 0;
  return (image) => {
    for (let i = 0; i < seen.length; i++) if (seen[i] === image) return results[i] as string;
    let out = image;
    for (const update of updates) out = update(update(out));
    if (image.length <= IMAGE_MEMO_MAX_LENGTH && out.length <= IMAGE_MEMO_MAX_LENGTH) {
      seen[next] = image;
      results[next] = out;
      next = (next + 1) % IMAGE_MEMO_ENTRIES;
    }
    return out;
  };
}
