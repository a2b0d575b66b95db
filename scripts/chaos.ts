/**
 * npm run chaos [-- --seed N --studies 90 --patients 60 --kills 3 --concurrency 8]: the chaos run of issue 13
 * against the emulators. Prints the seed first, so a failure can be replayed with --seed.
 */
import { resolve } from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { runChaos } from '../chaos/index.js';

const argv = await yargs(hideBin(process.argv))
  .option('seed', { type: 'number', describe: 'Seed of the collection, the faults and the kill moments (default: random)' })
  .option('studies', { type: 'number', default: 90 })
  .option('patients', { type: 'number', default: 60 })
  .option('kills', { type: 'number', default: 3, describe: 'Runs killed with SIGKILL before the final run' })
  .option('concurrency', { type: 'number', default: 8 })
  .strict()
  .parse();

const seed = argv.seed ?? Math.floor(Math.random() * 2 ** 31);
console.log(`chaos seed ${seed} (replay: npm run chaos -- --seed ${seed})`);
const started = Date.now();
const outcome = await runChaos({
  seed, studies: argv.studies, patients: argv.patients, kills: argv.kills, concurrency: argv.concurrency,
  cli: resolve('dist', 'cli.js'), log: (line) => console.log(line),
});
const seconds = Math.round((Date.now() - started) / 1000);
if (outcome.problems.length === 0) {
  console.log(`chaos seed ${seed}: passed — ${outcome.series} series archived exactly once, byte-identical and complete; prearchive empty; final run exit 0; no secret in any output (${seconds} s)`);
} else {
  for (const p of outcome.problems) console.log(`  problem: ${p}`);
  const final = outcome.runs[outcome.runs.length - 1]!;
  console.log(final.stdout.split('\n').filter((l) => /ERROR|WARN/.test(l)).slice(-30).join('\n'));
  console.log(`chaos seed ${seed}: FAILED with ${outcome.problems.length} problem(s); replay: npm run chaos -- --seed ${seed}`);
  process.exitCode = 1;
}
