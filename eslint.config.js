import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Processes side by side over shared contracts (as kubelet and the controllers share k8s.io/api):
// a component imports @anshim/api and the libraries, never another component; the dev platform
// (and the stack under it) is for tests, benchmarks and tools only.
const COMPONENTS = ['gateway', 'operator', 'worker', 'simulator'];
const component = (name) => [`@anshim/${name}`, `@anshim/${name}/*`, `**/${name}/src/*`, `**/${name}/src/**`];
const devOnly = ['@anshim/dev-platform', '@anshim/stack'];
const boundary = (self, { tests }) => ({
  files: tests ? [`${self}/src/**/*.test.ts`] : [`${self}/src/**/*.ts`],
  ignores: tests ? [] : [`${self}/src/**/*.test.ts`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          ...COMPONENTS.filter((c) => c !== self).map((c) => ({
            group: component(c),
            message: `${self} must not import ${c}: components share @anshim/api and the libraries, never each other.`,
          })),
          ...(tests
            ? []
            : [
                { group: devOnly, message: 'the dev platform is for tests, benchmarks and tools, never runtime code.' },
              ]),
        ],
      },
    ],
  },
});
const LIBRARIES = ['api', 'core', 'proto', 'telemetry', 'compliance', 'keystore', 'kafka'];
const libraryBoundary = (self) => ({
  files: [`${self}/src/**/*.ts`],
  ignores: [`${self}/src/**/*.test.ts`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          {
            group: [...COMPONENTS.flatMap(component), ...devOnly],
            message: `${self} is a shared library: it imports no component and no dev platform.`,
          },
        ],
      },
    ],
  },
});

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/generated/**', '**/dist/**', '.stack/**', 'aead-native/build/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // CommonJS on purpose: the addon's loader and build script (a .node file is require()d).
    files: ['**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'writable', __dirname: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // k6 scenarios run inside k6, not Node: linted as JavaScript with k6's globals.
    files: ['loadtest/scenarios/**/*.js'],
    languageOptions: { globals: { __ENV: 'readonly', __VU: 'readonly', __ITER: 'readonly' } },
  },
  ...COMPONENTS.flatMap((c) => [boundary(c, { tests: false }), boundary(c, { tests: true })]),
  ...LIBRARIES.map(libraryBoundary),
);
