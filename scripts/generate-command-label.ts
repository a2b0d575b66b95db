/**
 * Writes the Dockerfile's `LABEL org.nrg.commands="[…]"` line from command.json, replacing any
 * earlier one, so the image carries exactly the command that command.json defines.
 *
 *   npx tsx scripts/generate-command-label.ts           rewrite the Dockerfile if needed
 *   npx tsx scripts/generate-command-label.ts --check   exit 1 if the Dockerfile is out of date
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LABEL_KEY, withCommandLabel } from '../emulators/container-service/command-label.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function main(argv: string[]): number {
  const check = argv.includes('--check');
  const unknown = argv.filter((arg) => arg !== '--check');
  if (unknown.length > 0) {
    console.error(`usage: npx tsx scripts/generate-command-label.ts [--check] (unknown: ${unknown.join(' ')})`);
    return 2;
  }
  const dockerfilePath = join(ROOT, 'Dockerfile');
  const command: unknown = JSON.parse(readFileSync(join(ROOT, 'command.json'), 'utf8'));
  const current = readFileSync(dockerfilePath, 'utf8');
  const next = withCommandLabel(current, command);
  if (next === current) {
    console.log(`Dockerfile ${LABEL_KEY} label is up to date.`);
    return 0;
  }
  if (check) {
    console.error(
      `Dockerfile ${LABEL_KEY} label does not match command.json; run: npx tsx scripts/generate-command-label.ts`,
    );
    return 1;
  }
  writeFileSync(dockerfilePath, next);
  console.log(`Dockerfile ${LABEL_KEY} label written from command.json.`);
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
