// ESLint for js/: what the TypeScript compiler does not check. `npm test` runs it (`npm run lint`).
// Inline directives are off: a rule that does not fit is changed here, for everyone, never silenced in a file.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  // pack/consumer.*ts: type-checked by pack/check.mjs in the fresh project it installs the tarball into
  { ignores: ['dist/', 'dist-test/', 'node_modules/', 'live/browser/', 'eslint.config.mjs', 'pack/consumer.*ts'] },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { project: ['./tsconfig.test.json'], tsconfigRootDir: import.meta.dirname } },
    linterOptions: { noInlineConfig: true, reportUnusedInlineConfigs: 'error' },
    rules: {
      // An unawaited verify/accept/handle loses its refusal or its acknowledgement.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe'] }] },
      ],
      '@typescript-eslint/ban-ts-comment': ['error', { 'ts-ignore': true, 'ts-nocheck': true, 'ts-expect-error': true }],
    },
  },
  {
    // Plain JS run as is by Node or by a browser page (pack/: the npm tarball check; the test reporter): no
    // tsconfig covers them, so no type-aware rules; the globals they use are declared here.
    files: ['**/*.mjs', '**/*.cjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: {
      parserOptions: { project: null },
      globals: { console: 'readonly', process: 'readonly', URL: 'readonly', document: 'readonly', fetch: 'readonly' },
    },
  },
  {
    // pack/node.cjs: the package as a CommonJS application require()s it, which is what the file checks.
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // spec §4 forbids control characters: this pattern names them on purpose.
    files: ['src/request.ts'],
    rules: { 'no-control-regex': 'off' },
  },
  {
    // The library runs in browsers and talks to LiveKit only through the caller's `performRpc`.
    files: ['src/**/*.ts'],
    ignores: ['src/agent.ts', 'src/agent/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!\\./[a-z_]+\\.js$|@msgpack/msgpack$)',
              caseSensitive: true,
              message: 'src/ imports only its own modules and @msgpack/msgpack',
            },
          ],
        },
      ],
    },
  },
  {
    // The Node agent entry (livekit-shutdown-rpc/agent): the package's modules, Node's, and the peer packages of a
    // LiveKit Agents for Node.js job; never imported by the main entry.
    files: ['src/agent.ts', 'src/agent/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!(\\.\\.?/|\\./agent/)[a-z_]+\\.js$|node:[a-z]+$|@livekit/agents$|@livekit/rtc-node$|livekit-server-sdk$)',
              caseSensitive: true,
              message: 'src/agent/ imports the package, node: modules and the peers @livekit/agents, @livekit/rtc-node, livekit-server-sdk',
            },
          ],
        },
      ],
    },
  },
);
