/**
 * Builds dist/: src/cli.ts and the packages it uses, bundled into a few ES modules (type checking is tsc's job, in
 * `npm run build` before this and in `npm run typecheck`).
 *
 * Why a bundle: loading some 320 modules one by one was most of the CLI's start-up, 0.66 CPU s of `--version` against
 * 0.33 bundled, paid by every run and every Container Service launch (docs/benchmarks.md, 'Fixed cost per run').
 * IDC's libraries stay in chunks of their own, loaded only when a run uses IDC. yargs is loaded at run time from
 * node_modules through require (src/cli.ts says why). The linked source map leads stack traces and profiles back
 * to src/ and to each package (`node --enable-source-maps`).
 */
import { chmodSync, rmSync } from 'node:fs';
import { fileURLToPath, URL } from 'node:url';
import { build } from 'esbuild';

const root = new URL('..', import.meta.url);

rmSync(new URL('dist', root), { recursive: true, force: true });
await build({
  absWorkingDir: fileURLToPath(root),
  entryPoints: ['src/cli.ts'],
  outdir: 'dist',
  bundle: true,
  splitting: true,
  // Chunks sit beside cli.js: the code finds package.json and resources/ one level up from its own file.
  chunkNames: '[name]-[hash]',
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  sourcesContent: false,
  logLevel: 'warning',
  // got's HTTP/2 support, which the tool never uses, left out of start-up (src/http2-unsupported.ts says why;
  // docs/reference/node-runtime.md#got-http2-wrapper for where got reads it).
  alias: { 'http2-wrapper': './src/http2-unsupported.ts' },
  // Bundled CommonJS packages require node's built-ins; an ES module has no `require` of its own.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
});
// Executable, so dist/cli.js runs through its shebang, whose node flags apply as they do to the installed bin.
chmodSync(new URL('dist/cli.js', root), 0o755);
