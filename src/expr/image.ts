/**
 * Kubernetes' image library for CEL (k8s.io/apiserver/pkg/cel/library/image.go,
 * go-containerregistry `name.ParseReference` with its defaults):
 * `image(string)`, `isImage(string)`, `containsDigest()`, `registry()`
 * (default `index.docker.io`), `repository()` (`library/` added for Docker
 * Hub single names), `tag()` (`latest` when neither tag nor digest; empty for
 * a digest reference), `digest()`, `identifier()` (the digest when both).
 */
import type { Environment } from '@marcbachmann/cel-js';
import { celError } from './cel.js';

const DEFAULT_REGISTRY = 'index.docker.io';
const REPO_CHARS = /^[a-z0-9_.\-/]+$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

/** A parsed image reference. */
export class ImageRef {
  constructor(
    readonly registry: string,
    readonly repository: string,
    readonly tag: string,
    readonly digest: string,
  ) {}
}

function fail(): never {
  throw celError('could not parse reference');
}

/** name.ParseReference (weak validation, default registry). */
// eslint-disable-next-line complexity -- the steps of go-containerregistry name.ParseReference, in its order
export function parseImage(s: string): ImageRef {
  const at = s.indexOf('@');
  let base = at >= 0 ? s.slice(0, at) : s;
  const digest = at >= 0 ? s.slice(at + 1) : '';
  if (at >= 0 && !DIGEST.test(digest)) fail();
  let tag = '';
  const slash = base.lastIndexOf('/');
  const colon = base.lastIndexOf(':');
  if (colon > slash) {
    tag = base.slice(colon + 1);
    base = base.slice(0, colon);
    if (!TAG.test(tag)) fail();
  }
  const first = base.indexOf('/');
  let registry = DEFAULT_REGISTRY;
  let repo = base;
  if (first >= 0) {
    const head = base.slice(0, first);
    if (head.includes('.') || head.includes(':') || head === 'localhost') {
      registry = head === 'docker.io' ? DEFAULT_REGISTRY : head;
      repo = base.slice(first + 1);
    }
  }
  if (repo.length < 2 || repo.length > 255 || !REPO_CHARS.test(repo) || repo.split('/').some((c) => c === '')) fail();
  if (registry === DEFAULT_REGISTRY && !repo.includes('/')) repo = `library/${repo}`;
  return new ImageRef(registry, repo, digest ? '' : tag || 'latest', digest);
}

/** Registers the image library. */
export function registerImage(env: Environment): void {
  env.registerType('kubernetes.Image', ImageRef as never);
  const parse = (s: string): ImageRef => parseImage(s);
  env.registerFunction('image(string): kubernetes.Image', parse);
  env.registerFunction('isImage(string): bool', (s: string) => {
    try {
      parse(s);
      return true;
    } catch {
      return false;
    }
  });
  env.registerFunction('kubernetes.Image.containsDigest(): bool', (i: ImageRef) => i.digest !== '');
  env.registerFunction('kubernetes.Image.registry(): string', (i: ImageRef) => i.registry);
  env.registerFunction('kubernetes.Image.repository(): string', (i: ImageRef) => i.repository);
  env.registerFunction('kubernetes.Image.tag(): string', (i: ImageRef) => i.tag);
  env.registerFunction('kubernetes.Image.digest(): string', (i: ImageRef) => i.digest);
  env.registerFunction('kubernetes.Image.identifier(): string', (i: ImageRef) => i.digest || i.tag);
}
