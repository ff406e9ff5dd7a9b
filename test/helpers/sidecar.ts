/**
 * Test helpers for sidecar injection: compile a policy text with the built-in
 * registry (sidecar included), relative to the golden fixtures directory.
 */
import { resolve } from 'node:path';
import { compilePolicyText } from '../../src/policy/load.js';
import { createPolicySet } from '../../src/policy/compile.js';
import { builtinRegistry } from '../../src/transform/registry.js';
import type { PolicySet } from '../../src/policy/types.js';
import { REPO_ROOT } from './cases.js';

/** test/fixtures/sidecar: one directory per golden case. */
export const SIDECAR_FIXTURES = resolve(REPO_ROOT, 'test/fixtures/sidecar');


/** Compiles a policy file's text (sidecar policies) into a PolicySet. Throws PolicyError. */
export function sidecarPolicies(text: string, file = '<policy>'): PolicySet {
  return createPolicySet(compilePolicyText(text, file, { registry: builtinRegistry(), baseDir: SIDECAR_FIXTURES }));
}
