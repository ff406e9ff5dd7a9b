/**
 * Imported into every test process (.taprc `node-arg`): loads src/expr/cel.ts,
 * which registers itself with src/expr/engine.ts. The built CLI loads cel.js
 * on the first compile instead (engine.ts: `require()` of the ES module, which
 * test/cli/lazy-modules.test.ts checks on dist/); under tap's TypeScript
 * loader `require()` cannot load a .ts module, so the tests load the engine
 * up front, as `serve`, `eval` and the library (src/index.ts) do.
 */
import '../../src/expr/cel.js';
