import { execFileSync } from 'node:child_process';

/**
 * End-to-end tests spawn dist/cli.js as a user would (executed, so its shebang's node flags apply), so the suite
 * compiles the sources once before any test runs: `npm run test:jest` on its own never tests a stale build.
 */
export default function globalSetup(): void {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  execFileSync(process.execPath, ['scripts/cli-executable.mjs'], { stdio: 'inherit' });
}
