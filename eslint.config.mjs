import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeBuiltins = [
  'fs',
  'http',
  'https',
  'net',
  'child_process',
  'crypto',
  'os',
  'path',
  'stream',
  'worker_threads',
  'dns',
  'tls',
  'zlib',
  'timers',
  'process',
];

const NO_EXIT = {
  selector: "CallExpression[callee.object.name='process'][callee.property.name='exit']",
  message: 'Only src/cli/ may exit the process.',
};
const NO_ENV = {
  selector: "MemberExpression[object.name='process'][property.name='env']",
  message: 'Only src/config.ts reads the environment: add a parser there.',
};

const NO_PROTO_NAMED = {
  selector:
    "ImportDeclaration[source.value='@temporalio/proto'][importKind='value'] > ImportSpecifier[importKind='value']",
  message:
    "Plain Node cannot load a named import from @temporalio/proto (CommonJS; vitest can, so tests pass): import proto from '@temporalio/proto'.",
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.data/**', '.cache/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'no-restricted-syntax': ['error', NO_EXIT, NO_ENV, NO_PROTO_NAMED],
    },
  },
  { files: ['src/cli/**'], rules: { 'no-restricted-syntax': ['error', NO_ENV, NO_PROTO_NAMED] } },
  { files: ['src/config.ts'], rules: { 'no-restricted-syntax': ['error', NO_EXIT, NO_PROTO_NAMED] } },
  { files: ['bench/**', 'test/**', '**/*.test.ts'], rules: { 'no-restricted-syntax': 'off' } },
  {
    // Workflow code runs in Temporal's deterministic sandbox: no Node built-ins, no I/O modules, and
    // activities/clients only as types.
    // …and so does every module a workflow imports: a change here can break the replay of a running workflow.
    files: [
      'src/workflows/**/*.ts',
      'src/policy/**/*.ts',
      'src/failures.ts',
      'src/notify/options.ts',
      'src/notify/events.ts',
    ],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            ...nodeBuiltins.flatMap((m) => [m, `node:${m}`]),
            'undici',
            '@temporalio/activity',
            '@temporalio/client',
            '@temporalio/worker',
            '@temporalio/testing',
          ],
          patterns: [
            {
              group: [
                '../kubesphere/*',
                '../activities/*',
                '../temporal/*',
                '../cli/*',
                '../codec/*',
                '../emulator/*',
                '../config.js',
              ],
              allowTypeImports: true,
            },
          ],
        },
      ],
    },
  },
  {
    // The emulator is the client's independent oracle: it must not share the client's code or constants.
    files: ['src/emulator/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/kubesphere/*', '**/kubesphere'], message: 'The emulator never imports the client.' },
          ],
        },
      ],
    },
  },
  { files: ['**/*.mjs', '**/*.js'], ...tseslint.configs.disableTypeChecked },
  {
    // Loaded by Temporal with require() (lib/failure-converter.cjs).
    files: ['**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      sourceType: 'commonjs',
      globals: { require: 'readonly', exports: 'writable' },
    },
    rules: { ...tseslint.configs.disableTypeChecked.rules, '@typescript-eslint/no-require-imports': 'off' },
  },
);
