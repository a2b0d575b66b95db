import { lstat, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { parseString } from 'fast-csv';
import { buildCollection } from '../../emulators/nbia/index.js';
import { latestReport, latestRun, runFolders, writeTciaManifest } from '../support/run-cli.js';
import { FAST, PASSWORD, startWorld, type World } from '../support/world.js';

const UIDS = Array.from({ length: 8 }, (_, i) => `1.3.6.1.4.1.14519.5.2.1.7.30${i + 10}`);
let world: World;
afterEach(async () => world?.close());

async function csvRows(text: string): Promise<Record<string, string>[]> {
  const rows: Record<string, string>[] = [];
  await new Promise<void>((resolve, reject) => {
    parseString(text, { headers: true }).on('data', (row: Record<string, string>) => rows.push(row)).on('end', () => resolve()).on('error', reject);
  });
  return rows;
}

async function getXnat(url: string): Promise<{ status: number; body: string }> {
  const response = await fetch(url, { headers: { authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}` } });
  return { status: response.status, body: await response.text() };
}

const logKeys = (project: string): string[] => [...(world.xnat.projectResource(project, 'TCIA_IMPORT_LOGS')?.keys() ?? [])];

describe('stopping', () => {
  it.each([['SIGTERM', 143], ['SIGINT', 130]] as const)('%s: one line for the series not started, the summary last, and report.json carries exit %i', async (signal, code) => {
    world = await startWorld({ nbia: { bytesPerSecond: 400_000, shape: { imagesPerSeries: [20, 20], rows: 128, columns: 128 } } });
    const manifest = await writeTciaManifest(world.out, 'stop.tcia', UIDS);
    let sent = false;
    const stopped = await world.run(['import', manifest, '--project', 'STOP', '--output-dir', world.out, ...FAST, '--concurrency', '1'], {
      onStdout: (text, kill) => {
        if (sent || !/series .* → /.test(text)) return;
        sent = true;
        kill(signal);
      },
    });
    expect(stopped.exitCode).toBe(code);
    expect(stopped.stderr).toBe('');
    const notStarted = stopped.stdout.split('\n').filter((l) => /series not started; run the same command again to continue/.test(l));
    expect(notStarted).toHaveLength(1);
    const count = Number(/(\d+) series not started/.exec(notStarted[0]!)![1]);
    expect(count).toBeGreaterThanOrEqual(4);
    expect(stopped.stdout).not.toMatch(/run stopped before this series started/);
    const lines = stopped.stdout.trimEnd().split('\n');
    expect(lines[lines.length - 1]).toMatch(new RegExp(`summary: .*, ${count} not started, .*exit ${code}: stopped by ${signal}`));
    const report = await latestReport<{ exitCode: number; totals: { notStarted: number }; series: { status: string }[] }>(world.out);
    expect(report.exitCode).toBe(code);
    expect(report.totals.notStarted).toBe(count);
    expect(report.series.filter((r) => r.status === 'not-started')).toHaveLength(count);
  });
});

describe('records', () => {
  it('a log XNAT refuses to take: the report still goes, and it, the local one and the process all say exit 1', async () => {
    world = await startWorld();
    world.xnat.faults.set({ kind: 'status', status: 500, method: 'PUT', path: /run\.log\.jsonl/, times: Infinity });
    const manifest = await writeTciaManifest(world.out, 'rec.tcia', UIDS.slice(0, 1));
    const result = await world.run(['import', manifest, '--project', 'RECLOG', '--output-dir', world.out, ...FAST]);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toMatch(/ERROR: could not attach the log to project RECLOG: /);
    expect(result.stdout).toMatch(/summary: 1 imported .*exit 1: every series is in XNAT, but could not attach the log to project RECLOG/);
    const local = await latestReport<{ exitCode: number }>(world.out);
    expect(local.exitCode).toBe(1);
    const attached = [...(world.xnat.projectResource('RECLOG', 'TCIA_IMPORT_LOGS') ?? new Map<string, Buffer>()).entries()];
    expect(attached.map(([name]) => name).some((name) => name.endsWith('run.log.jsonl'))).toBe(false);
    const report = attached.find(([name]) => name.endsWith('report.json'));
    expect(JSON.parse(report![1].toString('utf8')).exitCode).toBe(1);
  });

  it('each run has its own folder, latest points at the newest, and the printed report link opens', async () => {
    world = await startWorld();
    const manifest = await writeTciaManifest(world.out, 'rec.tcia', UIDS.slice(0, 2));
    const first = await world.run(['import', manifest, '--project', 'REC', '--output-dir', world.out]);
    expect(first.exitCode).toBe(0);
    const [run1] = await runFolders(world.out);
    expect((await lstat(latestRun(world.out))).isSymbolicLink()).toBe(true);
    expect(join(world.out, await readlink(latestRun(world.out)))).toBe(run1);
    for (const name of ['report.json', 'report.csv', 'run.log.jsonl']) expect((await lstat(join(run1!, name))).size).toBeGreaterThan(0);

    const link = /report attached to the project: (\S+) \(every run's records: (\S+)\)/.exec(first.stdout);
    expect(link).not.toBeNull();
    const [, reportUrl, listingUrl] = link!;
    const attached = await getXnat(reportUrl!);
    expect(attached.status).toBe(200);
    expect(attached.body).toBe(await readFile(join(run1!, 'report.csv'), 'utf8'));
    const listing = await getXnat(listingUrl!);
    expect(listing.status).toBe(200);
    expect(listing.body).toContain(`${(await latestReport<{ runId: string }>(world.out)).runId}/report.csv`);
    // The folder itself is not something XNAT serves, which is why it is not what the tool prints.
    expect((await getXnat(reportUrl!.replace(/report\.csv$/, ''))).status).toBe(404);

    // A rerun that finds everything in XNAT changes nothing there and attaches nothing; locally it is the newest run.
    const keys = logKeys('REC');
    const writes = world.xnat.requests.filter((r) => r.method !== 'GET').length;
    const again = await world.run(['import', manifest, '--project', 'REC', '--output-dir', world.out]);
    expect(again.exitCode).toBe(0);
    expect(again.stdout).not.toMatch(/report attached/);
    expect(logKeys('REC')).toEqual(keys);
    expect(world.xnat.requests.filter((r) => r.method !== 'GET').length).toBe(writes);
    const folders = await runFolders(world.out);
    expect(folders).toHaveLength(2);
    expect(join(world.out, await readlink(latestRun(world.out)))).toBe(folders[1]);

    // A dry run attaches nothing either.
    await world.run(['import', manifest, '--project', 'REC', '--output-dir', world.out, '--dry-run']);
    expect(logKeys('REC')).toEqual(keys);
  });

  it('report.csv names each series, its collection, license and XNAT session; report.json lists licenses and citations', async () => {
    world = await startWorld();
    const manifest = await writeTciaManifest(world.out, 'lic.tcia', UIDS.slice(0, 3));
    expect((await world.run(['import', manifest, '--project', 'LIC', '--output-dir', world.out])).exitCode).toBe(0);
    const rows = await csvRows(await readFile(join(latestRun(world.out), 'report.csv'), 'utf8'));
    expect(rows).toHaveLength(3);
    for (const row of rows) {
      const spec = world.nbia.spec(row.seriesUid!)!;
      expect(row).toMatchObject({
        seriesDescription: spec.seriesDescription,
        studyDate: `${spec.studyDate.slice(0, 4)}-${spec.studyDate.slice(4, 6)}-${spec.studyDate.slice(6, 8)}`,
        modality: spec.modality,
        collection: 'CMB-CRC',
        license: 'CC BY 4.0',
        licenseUri: 'https://creativecommons.org/licenses/by/4.0/',
      });
      expect(row.sessionUrl).toBe(`${world.xnat.url}/data/projects/LIC/subjects/${row.subject}/experiments/${row.session}`);
      expect((await getXnat(`${row.sessionUrl}?format=json`)).status).toBe(200);
    }
    const report = await latestReport<{ licenses: unknown[]; citations: unknown[] }>(world.out);
    expect(report.licenses).toEqual([{ name: 'CC BY 4.0', uri: 'https://creativecommons.org/licenses/by/4.0/', collections: ['CMB-CRC'], series: 3 }]);
    expect(report.citations).toEqual([{ collection: 'CMB-CRC', uri: 'https://doi.org/10.7937/synthetic.cmb-crc', doi: '10.7937/synthetic.cmb-crc' }]);
  });
});

describe('dry run of a manifest', () => {
  const MANY = Array.from({ length: 12 }, (_, i) => `1.3.6.1.4.1.14519.5.2.1.7.40${i + 10}`);

  it('prints one line per session and totals; the per-series plan goes to plan.csv, on screen only with --plan-table; -q prints none', async () => {
    world = await startWorld({ nbia: { collection: buildCollection(MANY, { seriesPerStudy: 3, studiesPerPatient: 1 }) } });
    const manifest = await writeTciaManifest(world.out, 'dry.tcia', MANY);
    const base = ['import', manifest, '--project', 'DRY', '--output-dir', world.out, '--dry-run'];
    const dry = await world.run(base);
    expect(dry.exitCode).toBe(0);
    for (const uid of MANY) expect(dry.stdout).not.toContain(uid);
    const table = dry.stdout.split('\n').filter((l) => /^\S+\s+\S+\s+[A-Z,]+\s+3\s+3\s+\d+\s+[\d.]+ [kMG]B$/.test(l));
    expect(table).toHaveLength(4);
    expect(dry.stdout).toMatch(/12 series: 12 to import \(\d+ images, [\d.]+ [kMG]B\) into 4 session\(s\)/);
    // Sizes read as sizes: never "63049.6 MB".
    expect(dry.stdout).not.toMatch(/\d{4,}\.\d MB/);

    const planPath = join(latestRun(world.out), 'plan.csv');
    expect(dry.stdout).toContain('plan.csv');
    const plan = await csvRows(await readFile(planPath, 'utf8'));
    expect(plan.map((r) => r.SeriesInstanceUID)).toEqual(MANY);
    const report = await latestReport<{ series: { seriesUid: string; status: string; bytes: number }[] }>(world.out);
    for (const row of report.series) {
      expect(row.status).toBe('planned');
      expect(row.bytes).toBeGreaterThan(0);
      expect(String(row.bytes)).toBe(plan.find((p) => p.SeriesInstanceUID === row.seriesUid)!.bytes);
    }

    const full = await world.run([...base, '--plan-table']);
    for (const uid of MANY) expect(full.stdout).toContain(uid);
    const quiet = await world.run([...base, '-q']);
    expect(quiet.exitCode).toBe(0);
    expect(quiet.stdout).not.toMatch(/Session|SeriesInstanceUID/);
    expect(quiet.stdout).toMatch(/summary: 12 to import \([\d.]+ [kMG]B\) into 4 session\(s\), 0 already in XNAT, 0 unknown at TCIA; exit 0: dry run/);
    expect(world.xnat.requests.filter((r) => r.method !== 'GET')).toEqual([]);
  });
});

describe('annotations', () => {
  it('series TCIA flags as annotated are imported, and the run says once that their annotation files were not', async () => {
    const uids = UIDS.slice(0, 3);
    world = await startWorld({ nbia: { collection: buildCollection(uids, {}, { [uids[0]!]: { annotations: true }, [uids[2]!]: { annotations: true } }) } });
    const manifest = await writeTciaManifest(world.out, 'ann.tcia', uids);
    const result = await world.run(['import', manifest, '--project', 'ANN', '--output-dir', world.out, ...FAST]);
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toBe('');
    const notes = result.stdout.split('\n').filter((l) => /annotation files at TCIA/.test(l));
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatch(new RegExp(`2 series have annotation files at TCIA \\(first: ${uids[0]!.replace(/\./g, '\\.')}\\); this tool imports their DICOM images only`));
    const report = await latestReport<{ annotationsNotImported?: number; series: { status: string }[] }>(world.out);
    expect(report.annotationsNotImported).toBe(2);
    expect(report.series.map((r) => r.status)).toEqual(['imported', 'imported', 'imported']);
  });
});
