/**
 * The chaos harness (issue 13): a collection of uneven studies on the NBIA emulator, seeded faults on both
 * emulators, the CLI killed (SIGKILL, whole process group) at random moments — one right after a commit answered
 * 504 while XNAT archives on — then rerun until a final run, and the outcome checked. Shared by `npm run chaos`
 * (scripts/chaos.ts) and its small seeded version in the test suite, which may not import each other.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNbiaEmulator, type SeriesSpec } from '../emulators/nbia/index.js';
import { startXnatEmulator } from '../emulators/xnat/index.js';
import { checkOutcome } from './checks.js';
import { chaosCollection } from './collection.js';
import { armFaults } from './faults.js';
import { seededRandom } from './random.js';
import { runTool, type KillPlan, type ToolRun } from './run-tool.js';

export interface ChaosOptions {
  seed: number;
  patients: number;
  studies: number;
  /** Runs killed before the final one. */
  kills: number;
  concurrency: number;
  /** The built CLI (dist/cli.js). */
  cli: string;
  log: (line: string) => void;
}

export interface ChaosOutcome {
  seed: number;
  series: number;
  /** The collection the run served. */
  specs: SeriesSpec[];
  runs: ToolRun[];
  problems: string[];
}

const SECRET = 'chaos-S3cret!pass';
const PROJECT = 'CHAOS';
/** XNAT sessions expire after this much idle time: a few seconds, so renewals happen mid-run. */
const XNAT_IDLE_TIMEOUT_MS = 3000;

export async function runChaos(o: ChaosOptions): Promise<ChaosOutcome> {
  const random = seededRandom(o.seed);
  const specs = chaosCollection(random, o.seed, { patients: o.patients, studies: o.studies });
  const nbia = await startNbiaEmulator({ collection: specs });
  const xnat = await startXnatEmulator({ users: [{ username: 'chaos', password: SECRET, admin: true }], sessionTimeoutMs: XNAT_IDLE_TIMEOUT_MS });
  const runs: ToolRun[] = [];
  try {
    const dir = await mkdtemp(join(tmpdir(), 'xtd-chaos-'));
    const manifest = join(dir, 'chaos.tcia');
    await writeFile(manifest, ['downloadServerUrl=https://nbia.cancerimagingarchive.net/nbia-download/servlet/DownloadServlet', 'ListOfSeriesToDownload=', ...specs.map((s) => s.seriesUid), ''].join('\n'));
    o.log(`chaos seed ${o.seed}: ${specs.length} series in ${o.studies} studies of ${o.patients} patients; ${o.kills} kill(s) then a final run; --concurrency ${o.concurrency}`);
    for (const line of armFaults(random, nbia, xnat, specs)) o.log(`  armed ${line}`);

    const out = join(dir, 'out');
    const args = ['import', manifest, '--project', PROJECT, '--output-dir', out, '--concurrency', String(o.concurrency), '--retries', '6', '--progress', 'off',
      '--retry-delay', '0.05', '--stall-timeout', '1', '--poll-interval', '0.2', '--settle-timeout', '120'];
    // NBIA and XNAT are what the chaos is about; IDC (and its public index) stay out of it.
    const env = { XNAT_HOST: xnat.url, XNAT_USER: 'chaos', XNAT_PASS: SECRET, TCIA_URL: nbia.url, XTD_SOURCE: 'nbia' };
    for (let k = 0; k <= o.kills; k++) {
      const final = k === o.kills;
      // The first kill always lands right after a 504 on commit; the others at a random moment or after a 504.
      const plan: KillPlan = final ? { when: 'never' } : k === 0 || random.chance(0.4) ? { when: 'after-504', fallbackMs: 20_000 } : { when: 'at', ms: random.int(500, 8000) };
      const run = await runTool(o.cli, args, env, plan);
      runs.push(run);
      const lines = run.stdout.trim().split('\n');
      const where = run.killed ? `killed ${run.killed}, after: ${lines[lines.length - 1]?.replace(/^\[[^\]]*\] /, '').slice(0, 120)}` : `exit ${run.exitCode}`;
      o.log(`  run ${k + 1}: ${where} (${lines.filter((l) => /retrying/.test(l)).length} retries, ${lines.filter((l) => /committed session/.test(l)).length} commits, ${lines.filter((l) => /waiting for XNAT to finish/.test(l)).length} settle waits logged)`);
    }
    const problems = await checkOutcome({ project: PROJECT, specs, nbia, xnat, runs, outputDir: out, secret: SECRET });
    const fired = new Set(nbia.faults.fired.map((f) => f.kind));
    o.log(`  TCIA faults fired: ${[...fired].join(', ') || 'none'}; XNAT faults still armed: ${xnat.faults.pending().length}`);
    return { seed: o.seed, series: specs.length, specs, runs, problems };
  } finally {
    await xnat.close();
    await nbia.close();
  }
}
