import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import local from './eslint-rules/folder-deps.js';

/**
 * The layers of src/, top to bottom (names in one row share a layer and may not import each other). Every relative
 * import must run down this order and be listed in the importing folder's DEPS.list (see eslint-rules/folder-deps.js).
 */
const LAYERS = [
  ['index.ts'],
  ['stdio.ts'],
  ['server.ts'],
  ['tools', 'resources', 'cli'],
  ['deps.ts'],
  ['inputs'],
  ['builds'],
  ['codebuild'],
  ['diagnosis', 'smoke'],
  ['environment'],
  ['docker'],
  ['build-model'],
  ['dockerfile'],
  ['compat'],
  ['util'],
  ['config.ts', 'version.ts'],
];

/** Everything under src/ except the MCP layer (root files, tools/) and the CLI. */
const MCP_FREE = [
  'src/inputs/**',
  'src/resources/**',
  'src/builds/**',
  'src/codebuild/**',
  'src/diagnosis/**',
  'src/smoke/**',
  'src/environment/**',
  'src/docker/**',
  'src/build-model/**',
  'src/dockerfile/**',
  'src/compat/**',
  'src/util/**',
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'tests/fixtures/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    files: ['src/**/*.ts'],
    plugins: { local },
    rules: { 'local/folder-deps': ['error', { root: 'src', layers: LAYERS }] },
  },
  {
    // Services must stay MCP-free so the CLI and tests can use them without the protocol layer.
    files: MCP_FREE,
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['@modelcontextprotocol/*'], message: 'Services must not import the MCP SDK.' }] },
      ],
    },
  },
  {
    files: ['tests/**', 'scripts/**'],
    rules: { 'no-console': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: globals.node },
  },
);
