// ESLint (flat config) with the bar of ../shared/STYLE.md ("Habits we keep"):
// complexity <= 10, max-depth 3, max-params 4, explicit return types on
// exported functions, no floating promises. `npm run lint` runs inside
// `npm test`. Where a rewrite would be worse, an inline
// `// eslint-disable-next-line <rule> -- <reason>` says why.
//
// The three size rules are warnings and `npm run lint` allows none
// (`--max-warnings 0` in package.json): the code written before the linter
// was brought under the bar, so any new warning fails `npm test`.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'coverage/**', '.tap/**', 'node_modules/**', 'test/data/**', 'src/patch/k8s-patch-meta.generated.ts'] },
  {
    files: ['src/**/*.ts'],
    extends: [tseslint.configs.base],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      complexity: ['warn', 10],
      'max-depth': ['warn', 3],
      'max-params': ['warn', 4],
      '@typescript-eslint/explicit-module-boundary-types': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      'no-eval': 'error',
      'no-new-func': 'error',
      'no-control-regex': 'error',
    },
  },
);
