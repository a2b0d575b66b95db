import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'demo-output/**', 'bench-output/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  // Folders depend one way: the product imports none of the harness, and tests and scripts share only emulators/.
  restrictImports('src/**', ['emulators', 'test', 'scripts', 'chaos'], 'the product never imports the test harness'),
  restrictImports('test/**', ['scripts'], 'tests and scripts share code through emulators/, not each other'),
  restrictImports('scripts/**', ['test'], 'tests and scripts share code through emulators/, not each other'),
);

/** A config block that forbids files matching `files` to import from the given top-level folders. */
function restrictImports(files, folders, why) {
  const group = folders.flatMap((folder) => [`**/${folder}/**`, `${folder}/**`]);
  return { files: [files], rules: { 'no-restricted-imports': ['error', { patterns: [{ group, message: why }] }] } };
}
