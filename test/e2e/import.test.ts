import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildCollection, type SeriesSpec } from '../../emulators/nbia/index.js';
import { runCli, writeTciaManifest } from '../support/run-cli.js';
import { expectArchivedAsServed, PASSWORD, startWorld, type World } from '../support/world.js';

const RESOURCES = join(process.cwd(), 'resources', 'TCIA');
const TRIPLE = ['1.3.6.1.4.1.14519.5.2.1.1.24683744861288402229232136260839169890', '1.3.6.1.4.1.14519.5.2.1.1.13484708142339111895018689151517583958', '1.3.6.1.4.1.14519.5.2.1.1.81390328568974591413219980030193628195'];

let world: World;
let xnat: World['xnat'];
let nbia: World['nbia'];
let out: string;

async function start(collection?: SeriesSpec[], unknownUids: string[] = []): Promise<void> {
  world = await startWorld({ nbia: { collection, unknownUids } });
  ({ xnat, nbia, out } = world);
}

afterEach(async () => world?.close());

const env = (): Record<string, string> => world.env;
const imports = (): number => world.imports();
const expectArchived = (project: string, uids: string[]): void => expectArchivedAsServed(world, project, uids);
/** The bundled one-series manifest and the series it lists. */
async function smallManifest(): Promise<{ manifest: string; uid: string }> {
  const manifest = join(RESOURCES, 'CMB-CRC_CT_small.tcia');
  return { manifest, uid: (await readFile(manifest, 'utf8')).trim().split('\n').pop()!.trim() };
}

describe('import, end to end against the emulators', () => {
  it('imports a one-series manifest byte for byte, labels it, and records the run in the project', async () => {
    await start();
    const { manifest, uid } = await smallManifest();
    const result = await runCli(['import', manifest, '--project', 'CRC_SMALL', '--output-dir', out], env());
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(xnat.projectExists('CRC_SMALL')).toBe(true);

    const spec = nbia.spec(uid)!;
    const sessions = xnat.archive('CRC_SMALL');
    expect(sessions).toHaveLength(1);
    expect(sessions[0]!.label).toBe(spec.patientId.replace(/[^A-Za-z0-9_-]/g, '_'));
    expect(sessions[0]!.studyInstanceUid).toBe(spec.studyUid);
    expectArchived('CRC_SMALL', [uid]);

    expect(result.stdout).toMatch(/summary: 1 imported into 1 session\(s\), 0 already in XNAT, 0 failed/);
    expect(result.stdout).toMatch(/MB\/s/);
    const report = JSON.parse(await readFile(join(out, 'latest', 'report.json'), 'utf8'));
    expect(report.exitCode).toBe(0);
    expect(report.series[0]).toMatchObject({ seriesUid: uid, status: 'imported', files: spec.imageCount, md5Verified: spec.imageCount });

    expect(xnat.projectResource('CRC_SMALL', 'MANIFEST_ORIGINAL')?.get('CMB-CRC_CT_small.tcia')).toEqual(await readFile(manifest));
    const map = xnat.projectResource('CRC_SMALL', 'MANIFEST_MODIFIED')?.get('CMB-CRC_CT_small-sessions.csv')?.toString();
    expect(map).toContain(`${uid},${spec.studyUid},${spec.patientId},`);
    const logs = [...(xnat.projectResource('CRC_SMALL', 'TCIA_IMPORT_LOGS')?.keys() ?? [])];
    expect(logs.some((name) => name.endsWith('/report.json'))).toBe(true);
    expect(logs.some((name) => name.endsWith('/run.log.jsonl'))).toBe(true);

    // The password appears nowhere: not in output, the log, the report or anything uploaded.
    const runLog = await readFile(join(out, 'latest', 'run.log.jsonl'), 'utf8');
    const everything = [result.stdout, result.stderr, runLog, await readFile(join(out, 'latest', 'report.json'), 'utf8')];
    for (const resource of ['MANIFEST_ORIGINAL', 'MANIFEST_MODIFIED', 'TCIA_IMPORT_LOGS']) {
      for (const bytes of xnat.projectResource('CRC_SMALL', resource)?.values() ?? []) everything.push(bytes.toString('latin1'));
    }
    for (const text of everything) expect(text).not.toContain(PASSWORD);
    // The bundle loads the native CRC-32 module from node_modules at run time (src/transfer/zip/crc32.ts).
    expect(runLog).toContain('"msg":"CRC-32 by @node-rs/crc32"');
  });

  it('falls back on zlib\'s CRC-32 where no binary of the CRC-32 module ships for the platform, and imports the same bytes', async () => {
    await start();
    const { manifest, uid } = await smallManifest();
    const withoutBinary = { ...env(), NODE_OPTIONS: `--import ${pathToFileURL(join(process.cwd(), 'test', 'support', 'no-crc32-binary.mjs')).href}` };
    const result = await runCli(['import', manifest, '--project', 'CRC_SMALL', '--output-dir', out], withoutBinary);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expectArchived('CRC_SMALL', [uid]);
    const log = await readFile(join(out, 'latest', 'run.log.jsonl'), 'utf8');
    expect(log).toContain('"msg":"CRC-32 by node:zlib"');
    expect(log).not.toContain('@node-rs/crc32');
  });

  it('imports a series whose getImage zip leaves the data descriptors\' optional signature out, byte for byte', async () => {
    // NBIA's own writer always signs them; another server's may not (docs/reference/zip.md#data-descriptor).
    world = await startWorld({ nbia: { zipDescriptors: 'unsigned' } });
    ({ xnat, nbia, out } = world);
    const manifest = join(RESOURCES, 'CMB-CRC_CT_triple.tcia');
    const result = await runCli(['import', manifest, '--project', 'UNSIGNED', '--output-dir', out], env());
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expectArchived('UNSIGNED', TRIPLE);
    expect(imports()).toBe(3);
  });

  it('puts a study\'s three series into one session and a patient\'s studies into PID, PID_01 by date', async () => {
    const uids = [...TRIPLE, '1.2.3.4.5.6.7.8.9.1', '1.2.3.4.5.6.7.8.9.2'];
    // The first three series form one study; the last two are two more studies of the same patient, dated
    // earlier and later than it, and listed in the manifest latest first.
    const base = buildCollection(uids, { seriesPerStudy: 3, studiesPerPatient: 3 });
    const patientId = 'CRC-0042';
    const collection = base.map((spec, i) => ({
      ...spec,
      patientId,
      patientName: 'CRC^0042',
      studyUid: i < 3 ? '1.2.840.99.1' : i === 3 ? '1.2.840.99.2' : '1.2.840.99.3',
      studyDate: i < 3 ? '20100505' : i === 3 ? '20120101' : '20050101',
      seriesNumber: i + 1,
    }));
    await start(collection);
    const manifest = await writeTciaManifest(out, 'two-studies.tcia', uids);
    const result = await runCli(['import', manifest, '--project', 'MULTI', '--output-dir', out, '--concurrency', '3'], env());
    expect(result.exitCode).toBe(0);
    const sessions = xnat.archive('MULTI');
    const byLabel = Object.fromEntries(sessions.map((s) => [s.label, s]));
    expect(Object.keys(byLabel).sort()).toEqual(['CRC-0042', 'CRC-0042_01', 'CRC-0042_02']);
    expect(byLabel['CRC-0042']!.studyInstanceUid).toBe('1.2.840.99.3');
    expect(byLabel['CRC-0042_01']!.studyInstanceUid).toBe('1.2.840.99.1');
    expect(byLabel['CRC-0042_02']!.studyInstanceUid).toBe('1.2.840.99.2');
    expect(byLabel['CRC-0042_01']!.scans.map((s) => s.seriesInstanceUid).sort()).toEqual([...TRIPLE].sort());
    expect(sessions.every((s) => s.subject === 'CRC_0042')).toBe(true);
    expectArchived('MULTI', uids);
    // One commit per session, never one per series.
    expect(xnat.requests.filter((r) => r.method === 'POST' && r.query.action === 'commit')).toHaveLength(3);
  });

  it('uploads nothing new on a rerun and reports every series as already in XNAT', async () => {
    await start();
    const manifest = join(RESOURCES, 'CMB-CRC_CT_triple.tcia');
    expect((await runCli(['import', manifest, '--project', 'RERUN', '--output-dir', out], env())).exitCode).toBe(0);
    const before = imports();
    expect(before).toBe(3);
    const again = await runCli(['import', manifest, '--project', 'RERUN', '--output-dir', out], env());
    expect(again.exitCode).toBe(0);
    expect(imports()).toBe(before);
    expect(again.stdout).toMatch(/0 series to import .* 3 already in XNAT/);
    const report = JSON.parse(await readFile(join(out, 'latest', 'report.json'), 'utf8'));
    expect(report.series.map((r: { status: string }) => r.status)).toEqual(['already-in-xnat', 'already-in-xnat', 'already-in-xnat']);
  });

  it('imports the good series, reports the unknown one and exits 1', async () => {
    const unknown = '1.2.3.999.1';
    await start(undefined, [unknown]);
    const manifest = await writeTciaManifest(out, 'mixed.tcia', [TRIPLE[0]!, unknown, TRIPLE[1]!]);
    const result = await runCli(['import', manifest, '--project', 'MIXED', '--output-dir', out], env());
    expect(result.exitCode).toBe(1);
    expectArchived('MIXED', [TRIPLE[0]!, TRIPLE[1]!]);
    expect(result.stdout).toContain(`${unknown}: TCIA has no public series with this UID`);
    const report = JSON.parse(await readFile(join(out, 'latest', 'report.json'), 'utf8'));
    expect(report.series.find((r: { seriesUid: string }) => r.seriesUid === unknown).status).toBe('unknown-at-tcia');
  });

  it('refuses a malformed manifest with exit 2 and sends no import', async () => {
    await start();
    const manifest = join(out, 'broken.tcia');
    await writeTciaManifest(out, 'broken.tcia', ['1.2.3', 'not-a-uid']);
    const result = await runCli(['import', manifest, '--project', 'BROKEN', '--output-dir', out], env());
    expect(result.exitCode).toBe(2);
    expect(result.stdout).toMatch(/line 8: 'not-a-uid' is not a SeriesInstanceUID/);
    expect(imports()).toBe(0);
    expect(xnat.projectExists('BROKEN')).toBe(false);
  });

  it('--dry-run prints the plan and changes nothing', async () => {
    await start();
    const result = await runCli(['import', join(RESOURCES, 'CMB-CRC_CT_triple.tcia'), '--project', 'DRY', '--dry-run', '--plan-table', '--output-dir', out], env());
    expect(result.exitCode).toBe(0);
    for (const uid of TRIPLE) expect(result.stdout).toContain(uid);
    expect(result.stdout).toMatch(/SeriesInstanceUID\s+PatientID\s+Subject\s+Session/);
    expect(imports()).toBe(0);
    expect(xnat.projectExists('DRY')).toBe(false);
    expect(xnat.requests.filter((r) => r.method !== 'GET')).toEqual([]);
  });

  it('accepts the original six-argument form and warns about the password on the command line', async () => {
    await start();
    const result = await runCli([join(RESOURCES, 'test_series.tcia'), out, 'LEGACY', xnat.url, 'admin', PASSWORD], { TCIA_URL: nbia.url, XTD_SOURCE: 'nbia' });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/password was given on the command line/);
    expect(result.stdout).not.toContain(PASSWORD);
    expect(xnat.archive('LEGACY')).toHaveLength(1);
  });
});
