/**
 * AssignImage's image reference handling, from Gatekeeper
 * pkg/mutation/mutators/assignimage/imageparser.go (and its tests): an image
 * string is split into domain, path and tag (`:tag` or `@digest`), the set
 * components replace the old ones, and the parameters are validated so that a
 * mutator always converges (no component may leak a `/`, `:` or `@` into its
 * neighbour on the next pass). The regexes are Gatekeeper's, run on an
 * RE2-semantics engine (re2js) as Go's regexp runs them.
 */
import type { RE2JS } from 're2js';
import { re2js } from '../kube/re2.js';

const DOMAIN_PATTERN = '(^\\w[\\w\\-_]*\\.[\\w\\-_\\.]*[\\w](:\\d+)?$)|(^localhost(:\\d+)?$)';
const PATH_PATTERN = '^[a-z0-9]+(?:(?:(?:[._/]|__|[-]*)[a-z0-9]+)+)?';
const TAG_PATTERN = '(^:[\\w][\\w.-]{0,127}$)|(^@[A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9A-Fa-f]{32,}$)';

let compiled: { domain: RE2JS; path: RE2JS; tag: RE2JS } | undefined;

/** The three patterns, compiled on first use (only AssignImage documents need them). */
function regexps(): { domain: RE2JS; path: RE2JS; tag: RE2JS } {
  const re = re2js();
  compiled ??= { domain: re.compile(DOMAIN_PATTERN), path: re.compile(PATH_PATTERN), tag: re.compile(TAG_PATTERN) };
  return compiled;
}

/** An image reference in three parts; '' for a part that is absent. */
export interface ImageParts {
  domain: string;
  path: string;
  tag: string;
}

/** Splits off the domain: the part before the first `/` when it holds `.` or `:` or is `localhost` (splitDomain). */
export function splitDomain(name: string): { domain: string; remainder: string } {
  const i = name.indexOf('/');
  const first = i < 0 ? '' : name.slice(0, i);
  if (i < 0 || (!/[.:]/.test(first) && first !== 'localhost')) return { domain: '', remainder: name };
  return { domain: first, remainder: name.slice(i + 1) };
}

/** Parses any string into parts (never fails: `newImage`). */
export function parseImage(ref: string): ImageParts {
  const { domain, remainder } = splitDomain(ref);
  const sep = remainder.search(/[:@]/);
  return sep < 0 ? { domain, path: remainder, tag: '' } : { domain, path: remainder.slice(0, sep), tag: remainder.slice(sep) };
}

/** The image with every non-empty part of `assign` replacing the old one (mutateImage). */
export function mutateImage(ref: string, assign: ImageParts): string {
  const old = parseImage(ref);
  const domain = assign.domain || old.domain;
  return (domain ? `${domain}/` : '') + (assign.path || old.path) + (assign.tag || old.tag);
}

/**
 * Validates `assignDomain`, `assignPath` and `assignTag` (validateImageParts).
 * Returns Gatekeeper's error message, or '' when valid.
 */
// eslint-disable-next-line complexity -- Gatekeeper's validateImageParts: one check per component, in its order
export function validateImageParts(p: ImageParts): string {
  if (!p.domain && !p.path && !p.tag) return 'at least one of [assignDomain, assignPath, assignTag] must be set';
  const { domain: domainRegexp, path: pathRegexp, tag: tagRegexp } = regexps();
  if (p.domain && !domainRegexp.matcher(p.domain).find()) return `assignDomain ${JSON.stringify(p.domain)} does not match pattern ${DOMAIN_PATTERN}`;
  if (p.path) {
    const m = pathRegexp.matcher(p.path);
    if (!m.find() || m.group() !== p.path) return `assignPath ${JSON.stringify(p.path)} does not match pattern ${PATH_PATTERN}`;
  }
  if (p.tag && !tagRegexp.matcher(p.tag).find()) return `assignTag ${JSON.stringify(p.tag)} does not match pattern ${TAG_PATTERN}`;
  if (!p.domain && splitDomain(p.path).domain !== '') {
    return `assignDomain must be set if the first part of assignPath ${JSON.stringify(p.path)} can be interpretted as part of a domain`;
  }
  return '';
}
