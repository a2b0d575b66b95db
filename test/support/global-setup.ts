import { execFileSync } from 'node:child_process';

/**
 * End-to-end tests spawn dist/cli.js as a user would (executed, so its shebang's node flags apply), so the suite
 * bundles the sources once before any test runs: `npm run test:jest` on its own never tests a stale build. Type
 * errors are `npm run typecheck`'s to report (`npm test` runs it first).
 */
export default function globalSetup(): void {
  execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
}
