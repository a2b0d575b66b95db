import { resolve } from 'node:path';
import { runChaos } from '../../chaos/index.js';

// The small seeded version of `npm run chaos`; a failure prints the seed to replay it with the full command.
const SEED = 20260113;

it(`survives seeded faults and SIGKILLs, one right after a 504 on commit (seed ${SEED})`, async () => {
  const lines: string[] = [];
  const outcome = await runChaos({ seed: SEED, studies: 8, patients: 5, kills: 2, concurrency: 4, cli: resolve('dist', 'cli.js'), log: (l) => lines.push(l) });
  // The seed's collection has files in every uncompressed transfer syntax and a PatientName outside ASCII.
  expect(new Set(outcome.specs.map((s) => s.transferSyntax))).toEqual(new Set(['explicit-le', 'implicit-le', 'explicit-be']));
  expect(outcome.specs.some((s) => /[^ -~]/.test(s.patientName))).toBe(true);
  const failures = outcome.runs.flatMap((r, i) => r.stdout.split('\n').filter((l) => /ERROR|WARN/.test(l)).map((l) => `run ${i + 1}: ${l}`));
  const context = `${lines.join('\n')}\n${failures.join('\n')}\nreplay: npm run chaos -- --seed ${SEED} --studies 8 --patients 5 --kills 2 --concurrency 4`;
  expect({ problems: outcome.problems, context }).toEqual({ problems: [], context });
  expect(outcome.runs[0]!.killed).toBe('right after a commit answered 504');
  // The rerun does not send the study behind the 504 again: it finds XNAT still archiving it and waits, or, when the
  // machine is slow to start the rerun, finds it archived already.
  const label = /prearchive\/projects\/CHAOS\/\d+_\d+\/(\S+) answered 504/.exec(outcome.runs[0]!.stdout)?.[1];
  expect(label).toBeDefined();
  const rerun = outcome.runs[1]!.stdout;
  const waited = new RegExp(`waiting for XNAT to finish \\d+ prearchive session\\(s\\).*: ${label} `).test(rerun);
  expect({ waited, resent: rerun.includes(`/${label}: `) }).toEqual({ waited: expect.any(Boolean), resent: false });
  if (!waited) expect(rerun).toMatch(/plan: .* [1-9]\d* already in XNAT/);
  expect(outcome.runs[outcome.runs.length - 1]!.exitCode).toBe(0);
}, 180_000);
