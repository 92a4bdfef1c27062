// @ts-check
/**
 * ESLint flat config. TypeScript (src, test, bench) is linted with typescript-eslint's type-checked
 * recommended set, through the same tsconfig.json that `npm run typecheck` uses. Browser scripts
 * under src/ (the dashboard client) get the plain JS recommended rules and browser globals.
 */
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** Unused names are errors everywhere; `_`-prefixed ones are deliberate (positional args, rest omits). */
const UNUSED = {
  args: 'after-used',
  argsIgnorePattern: '^_',
  varsIgnorePattern: '^_',
  caughtErrors: 'all',
  caughtErrorsIgnorePattern: '^_',
  destructuredArrayIgnorePattern: '^_',
};

export default defineConfig(
  globalIgnores(['dist/', 'node_modules/', '.tap/', 'coverage/']),

  {
    files: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // `import type { ... }` beside a value import from the same module is our style (the type
      // import is erased); two imports of the same kind from one module are not.
      'no-duplicate-imports': ['error', { allowSeparateTypeImports: true }],
      '@typescript-eslint/no-unused-vars': ['error', UNUSED],
      // Rejecting with a caught `unknown` or an AbortSignal's `reason` (typed any) forwards a value
      // we did not create, as `only-throw-error` allows for `throw`; rejecting with a literal or an
      // object of ours that is not an Error is still reported.
      '@typescript-eslint/prefer-promise-reject-errors': [
        'error',
        { allowThrowingAny: true, allowThrowingUnknown: true },
      ],
      // A switch over a union must name every member; a `default` in such a switch must be
      // deliberate, so it does not silence the check.
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: false, requireDefaultForNonUnion: false },
      ],
    },
  },

  {
    files: ['test/**/*.ts'],
    rules: {
      // tap tracks every subtest itself: the parent waits for it, and the PromiseWithSubtest that
      // t.test() returns resolves with the results (a failure is reported, never a rejection).
      // Other promises in tests (t.rejects, helpers, servers) must still be awaited or handled.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafePromises: [
            { from: 'package', package: '@tapjs/core', name: 'PromiseWithSubtest' },
          ],
        },
      ],
      // A tap callback either returns a promise or must call t.end(); every test here is written
      // `async (t) => { ... }` so that it ends when its body does, with or without an await, and
      // fakes implement async interfaces with `async` methods. An await-less async is not a bug here.
      '@typescript-eslint/require-await': 'off',
    },
  },

  {
    // Browser scripts served by the admin server (classic <script defer>, not modules).
    files: ['src/**/*.js'],
    extends: [js.configs.recommended],
    languageOptions: { sourceType: 'script', globals: globals.browser },
    rules: { 'no-unused-vars': ['error', UNUSED] },
  },

  {
    // This file and any other Node-side config script at the root.
    files: ['*.js'],
    extends: [js.configs.recommended],
    languageOptions: { globals: globals.node },
  },
);
