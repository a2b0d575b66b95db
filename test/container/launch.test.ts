/**
 * Launches command.json's wrapper the way the Container Service does (test/container/container-service.ts)
 * against the NBIA and XNAT emulators, running the built CLI (dist/cli.js, built by `npm test`).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startIdcEmulator, type IdcEmulator } from '../../emulators/idc/index.js';
import { seriesSpecFromUid, startNbiaEmulator, type NbiaEmulator } from '../../emulators/nbia/index.js';
import { startXnatEmulator, type XnatEmulator } from '../../emulators/xnat/index.js';
import {
  disposeLaunch,
  launchLocally,
  makeResourceDir,
  readCommand,
  REPO_ROOT,
  resolveLaunch,
  type LaunchResult,
  type LaunchValues,
} from '../../emulators/container-service/launch.js';

const command = readCommand();
const WRAPPER = 'xnat-tcia-download-project';
const TRIPLE = readFileSync(join(REPO_ROOT, 'resources', 'TCIA', 'CMB-CRC_CT_triple.tcia'), 'utf8');
const TRIPLE_UIDS = TRIPLE.trim().split(/\r?\n/).slice(6);

interface Report {
  runId: string;
  project: string;
  dryRun: boolean;
  exitCode: number;
  totals: { series: number; imported: number };
  series: Array<{ seriesUid: string; status: string }>;
}

let nbia: NbiaEmulator;
let xnat: XnatEmulator;
/** IDC with none of the launched series: the default --source auto reads its index, then takes them from NBIA. */
let idc: IdcEmulator;
let root: string;
const launches: LaunchResult[] = [];

beforeAll(() => {
  if (!existsSync(join(REPO_ROOT, 'dist', 'cli.js'))) {
    throw new Error('dist/cli.js is missing: run `npm run build` first (npm test builds before jest)');
  }
});

beforeEach(async () => {
  nbia = await startNbiaEmulator();
  idc = await startIdcEmulator({ collection: [seriesSpecFromUid('1.3.6.1.4.1.14519.5.2.1.12.1')] });
  // The launching project exists: the container is started from it.
  xnat = await startXnatEmulator({ projects: [{ id: 'P1', owners: ['admin'] }] });
  root = mkdtempSync(join(tmpdir(), 'xtd-cs-launch-test-'));
});

afterEach(async () => {
  for (const launch of launches.splice(0)) disposeLaunch(launch);
  rmSync(root, { recursive: true, force: true });
  await Promise.all([nbia.close(), xnat.close(), idc.close()]);
});

/** Launches on project P1 whose resource TCIA holds `files`, with an alias token as the CS issues one. */
async function launch(values: LaunchValues, files: Record<string, string>): Promise<LaunchResult> {
  const project = { id: 'P1', resources: [{ label: 'TCIA', directory: makeResourceDir(root, 'TCIA', files) }] };
  const resolved = resolveLaunch(command, WRAPPER, values, project);
  const token = xnat.issueAliasToken('admin');
  const result = await launchLocally(resolved, {
    xnatHost: xnat.url,
    xnatUser: token.alias,
    xnatPass: token.secret,
    env: { TCIA_URL: nbia.url, IDC_INDEX: idc.indexUrl, IDC_ENDPOINT: idc.url },
  });
  launches.push(result);
  // Whatever happened, the token secret must not leak into what the CS keeps (stdout/stderr logs, outputs).
  expect(result.stdout + result.stderr).not.toContain(token.secret);
  expect(result.argv.join(' ')).not.toContain(token.secret);
  return result;
}

function explain(result: LaunchResult): string {
  return `exit ${String(result.exitCode)}\n--- stdout ---\n${result.stdout.slice(-3000)}\n--- stderr ---\n${result.stderr.slice(-3000)}`;
}

function localReport(result: LaunchResult): Report {
  return JSON.parse(readFileSync(join(result.outputDir, 'latest', 'report.json'), 'utf8')) as Report;
}

/** The files the tool attached to the project under TCIA_IMPORT_LOGS. */
function uploadedRecords(projectId: string): Map<string, Buffer> {
  return xnat.projectResource(projectId, 'TCIA_IMPORT_LOGS') ?? new Map();
}

describe('Run container on a project (emulated Container Service, XNAT and TCIA)', () => {
  it('imports the manifest from resource TCIA, reports in /output and attaches the report to the project', async () => {
    const result = await launch({ project: 'P1' }, { 'CMB-CRC_CT_triple.tcia': TRIPLE });
    expect({ exit: result.exitCode, log: explain(result) }).toMatchObject({ exit: 0 });

    const report = localReport(result);
    expect(report).toMatchObject({ project: 'P1', dryRun: false, exitCode: 0, totals: { series: 3, imported: 3 } });
    expect(readFileSync(join(result.outputDir, 'latest', 'report.csv'), 'utf8').split('\n')[0]).toMatch(/seriesUid/);
    expect(existsSync(join(result.outputDir, 'latest', 'run.log.jsonl'))).toBe(true);

    const archived = xnat.archive('P1').flatMap((session) => session.scans.map((scan) => scan.seriesInstanceUid));
    expect(archived.sort()).toEqual([...TRIPLE_UIDS].sort());

    const records = uploadedRecords('P1');
    const uploadedReport = [...records].find(([path]) => path.endsWith('report.json'));
    expect(uploadedReport).toBeDefined();
    expect((JSON.parse(uploadedReport![1].toString('utf8')) as Report).runId).toBe(report.runId);
    expect([...records.keys()].some((path) => path.endsWith('run.log.jsonl'))).toBe(true);
  });

  it('imports into target_project instead when one is given, creating it', async () => {
    const result = await launch({ project: 'P1', target_project: 'P_TARGET' }, { 'CMB-CRC_CT_small.tcia': TRIPLE.split('\n').slice(0, 7).join('\n') });
    expect({ exit: result.exitCode, log: explain(result) }).toMatchObject({ exit: 0 });
    expect(xnat.projectExists('P_TARGET')).toBe(true);
    expect(xnat.archive('P_TARGET')).toHaveLength(1);
    expect(xnat.archive('P1')).toHaveLength(0);
    expect(localReport(result).project).toBe('P_TARGET');
  });

  it('dry_run=true plans and reports without importing anything', async () => {
    const result = await launch({ project: 'P1', dry_run: true }, { 'CMB-CRC_CT_triple.tcia': TRIPLE });
    expect({ exit: result.exitCode, log: explain(result) }).toMatchObject({ exit: 0 });
    const report = localReport(result);
    expect(report.dryRun).toBe(true);
    expect(report.series.map((s) => s.status)).toEqual(['planned', 'planned', 'planned']);
    expect(xnat.archive('P1')).toHaveLength(0);
    expect(xnat.prearchive('P1')).toHaveLength(0);
  });

  it('a bad manifest exits 2, imports nothing and attaches nothing: StdOut.log says why', async () => {
    const before = [...uploadedRecords('P1').keys()];
    const result = await launch({ project: 'P1' }, { 'broken.tcia': 'this is not a TCIA manifest\n' });
    expect({ exit: result.exitCode, log: explain(result) }).toMatchObject({ exit: 2 });
    expect(result.stdout).toMatch(/line 1: 'this is not a TCIA manifest'/);
    expect(xnat.archive('P1')).toHaveLength(0);
    expect(xnat.prearchive('P1')).toHaveLength(0);
    // A run that changed nothing adds no folder to TCIA_IMPORT_LOGS (docs/container.md, "Where the logs and the report land").
    expect([...uploadedRecords('P1').keys()]).toEqual(before);
  });

  it('stops cleanly on SIGTERM mid-run: non-zero exit, report written', async () => {
    const uids = Array.from({ length: 400 }, (_, i) => `2.25.424242${String(i + 1).padStart(6, '0')}`);
    const manifest = ['downloadServerUrl=https://example.invalid/', 'ListOfSeriesToDownload=', ...uids, ''].join('\n');
    const project = { id: 'P1', resources: [{ label: 'TCIA', directory: makeResourceDir(root, 'TCIA', { 'large.tcia': manifest }) }] };
    const resolved = resolveLaunch(command, WRAPPER, { project: 'P1', concurrency: 1 }, project);
    const token = xnat.issueAliasToken('admin');
    let sent = false;
    const result = await launchLocally(resolved, {
      xnatHost: xnat.url,
      xnatUser: token.alias,
      xnatPass: token.secret,
      env: { TCIA_URL: nbia.url, IDC_INDEX: idc.indexUrl, IDC_ENDPOINT: idc.url },
      onStart: (child) => {
        // As `docker stop` does once the first series is archived, i.e. demonstrably mid-run.
        const poll = setInterval(() => {
          if (child.exitCode !== null) clearInterval(poll);
          else if (xnat.archive('P1').length > 0) {
            clearInterval(poll);
            sent = child.kill('SIGTERM');
          }
        }, 50);
      },
    });
    launches.push(result);
    expect({ sent, exit: result.exitCode, log: explain(result) }).toMatchObject({ sent: true });
    expect(result.exitCode).not.toBe(0);
    expect(result.signal).toBeNull();
    const report = localReport(result);
    expect(report.totals.imported).toBeLessThan(uids.length);
    expect([...uploadedRecords('P1').keys()].some((path) => path.endsWith('report.json'))).toBe(true);
  });
});
