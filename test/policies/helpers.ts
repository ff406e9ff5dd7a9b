/**
 * Load options for policy tests: the built-in registry plus `validate`, and
 * the CEL condition compiler (until src/cli/policies.ts wires them for every
 * command).
 */
import { conditionCompiler } from '../../src/expr/vars.js';
import type { LoadOptions } from '../../src/policy/load.js';
import { builtinRegistry } from '../../src/transform/registry.js';
import { validateTransformer } from '../../src/transform/validate.js';

/** LoadOptions with `validate` registered and CEL conditions enabled. */
export function policyLoadOptions(): LoadOptions {
  return { registry: builtinRegistry().register('validate', validateTransformer), compileCondition: conditionCompiler };
}
