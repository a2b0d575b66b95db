import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeTciaManifest, latestReport, runCli } from '../support/run-cli.js';
import { idcObjectGets, startIdcWorld, type IdcWorld } from '../support/idc-world.js';
import { expectArchivedAsServed, FAST } from '../support/world.js';

const UIDS = Array.from({ length: 6 }, (_, i) => `1.3.6.1.4.1.14519.5.2.1.41.${3000 + i}`);
let world: IdcWorld;
afterEach(async () => world?.close());

interface Row { seriesUid: string; status: string; source: string; verified: string; subject: string; session: string; error: string; md5Verified: number; files: number }
interface Report { exitCode: number; series: Row[]; sources?: { mode: string; idcIndex?: { etag?: string; seriesFound: number } }; totals: { bySource?: Record<string, { imported: number; bytes: number }> } }

async function importAll(project: string, extra: string[] = [], env: Record<string, string> = {}): Promise<{ result: Awaited<ReturnType<IdcWorld['run']>>; report: Report }> {
  const manifest = await writeTciaManifest(world.out, 'idc.tcia', UIDS);
  const result = await world.run(['import', manifest, '--project', project, '--output-dir', world.out, ...FAST, ...extra], { env });
  return { result, report: await latestReport<Report>(world.out) };
}

const nbiaImageGets = (): number => world.nbia.requests.filter((r) => /getImage/.test(r.path)).length;
const sourceOf = (report: Report): Record<string, string> => Object.fromEntries(report.series.map((r) => [r.seriesUid, r.source]));

describe('IDC as a source', () => {
  it('auto: every series IDC holds comes from IDC, verified by MD5; the report names the index; a rerun moves nothing', async () => {
    world = await startIdcWorld(UIDS);
    const { result, report } = await importAll('IDCALL');
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expectArchivedAsServed(world, 'IDCALL', UIDS);
    expect(nbiaImageGets()).toBe(0);
    expect(report.series.map((r) => [r.source, r.verified])).toEqual(UIDS.map(() => ['idc', 'md5']));
    expect(report.sources).toMatchObject({ mode: 'auto', idcIndex: { etag: world.idc.indexEtag(), seriesFound: UIDS.length } });
    expect(report.totals.bySource?.idc?.imported).toBe(UIDS.length);
    expect(result.stdout).toMatch(/summary: .*IDC: 6 series/);

    const gets = idcObjectGets(world.idc);
    const importsBefore = world.imports();
    const rerun = await importAll('IDCALL');
    expect(rerun.result.exitCode).toBe(0);
    expect(world.imports()).toBe(importsBefore);
    expect(idcObjectGets(world.idc)).toBe(gets);
    expect(rerun.report.series.every((r) => r.status === 'already-in-xnat')).toBe(true);
  });

  it('mixed: UIDs IDC lacks come from NBIA, the rest from IDC; the dry run shows both', async () => {
    world = await startIdcWorld(UIDS, { inIdc: UIDS.slice(0, 4) });
    const manifest = await writeTciaManifest(world.out, 'idc.tcia', UIDS);
    const dry = await world.run(['import', manifest, '--project', 'MIXED', '--output-dir', world.out, '--dry-run', '--plan-table']);
    expect(dry.exitCode).toBe(0);
    expect(dry.stdout).toMatch(/from IDC 4 \(.*\), from NBIA 2/);
    expect(dry.stdout).toMatch(new RegExp(`${UIDS[5]!.replace(/\./g, '\\.')} .* nbia`));
    expect(idcObjectGets(world.idc)).toBe(0);

    const { result, report } = await importAll('MIXED');
    expect(result.exitCode).toBe(0);
    expectArchivedAsServed(world, 'MIXED', UIDS);
    expect(sourceOf(report)).toEqual(Object.fromEntries(UIDS.map((uid, i) => [uid, i < 4 ? 'idc' : 'nbia'])));
    expect(nbiaImageGets()).toBe(2);
  });

  it('--source idc with NBIA down labels and archives exactly what an NBIA run does', async () => {
    world = await startIdcWorld(UIDS);
    const viaNbia = await importAll('VIA_NBIA', ['--source', 'nbia']);
    expect(viaNbia.result.exitCode).toBe(0);
    await world.nbia.close();
    const viaIdc = await importAll('VIA_IDC', ['--source', 'idc']);
    expect(viaIdc.result.exitCode).toBe(0);
    expect(viaIdc.report.series.every((r) => r.source === 'idc')).toBe(true);
    const labels = (r: Report): string[] => r.series.map((s) => `${s.seriesUid} ${s.subject} ${s.session}`);
    expect(labels(viaIdc.report)).toEqual(labels(viaNbia.report));
    const archived = (project: string): string[] => world.xnat.archive(project)
      .flatMap((s) => s.scans.flatMap((scan) => scan.files.map((f) => `${s.subject}/${s.label}/${scan.seriesInstanceUid}/${f.bytes.toString('base64')}`))).sort();
    expect(archived('VIA_IDC')).toEqual(archived('VIA_NBIA'));
    expectArchivedAsServed(world, 'VIA_IDC', UIDS);
  });

  it('auto with NBIA down: labels come from IDC, the series IDC holds are imported, the rest fail saying why', async () => {
    world = await startIdcWorld(UIDS, { inIdc: UIDS.slice(0, 4) });
    await world.nbia.close();
    const { result, report } = await importAll('NBIADOWN');
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toMatch(/NBIA's series metadata is unavailable .*reading labels from IDC/);
    expectArchivedAsServed(world, 'NBIADOWN', UIDS.slice(0, 4));
    expect(report.series.slice(4).map((r) => r.error)).toEqual([0, 1].map(() => "NBIA did not answer and IDC's index does not hold this series"));
    // Failed, not "unknown at TCIA": TCIA never said it lacks them.
    expect(report.series.slice(4).map((r) => r.status)).toEqual(['failed', 'failed']);
    expect(result.stdout).toMatch(/summary: 4 imported .*2 failed, 0 unknown at TCIA/);
    // Subject from the header's PatientName, session from PatientID and StudyDate, as NBIA's metadata would give.
    const spec = world.collection[0]!;
    const session = world.xnat.archive('NBIADOWN').find((s) => s.scans.some((x) => x.seriesInstanceUid === UIDS[0]))!;
    expect([session.subject, session.label]).toEqual([spec.patientName.replace(/[^A-Za-z0-9_-]/g, '_'), expect.stringMatching(new RegExp(`^${spec.patientId}(_01)?$`))]);
  });

  it('a stale index entry (empty listing) and a series IDC keeps refusing fall back to NBIA in auto', async () => {
    world = await startIdcWorld(UIDS, { idc: { staleUids: [UIDS[1]!] } });
    const refused = world.idc.entry(UIDS[2]!)!;
    world.idc.faults.set({ error: { status: 403, code: 'AccessDenied', keyPrefix: `${refused.seriesUuid}/`, kind: 'object', count: Infinity } });
    const { result, report } = await importAll('STALE');
    expect(result.exitCode).toBe(0);
    expectArchivedAsServed(world, 'STALE', UIDS);
    expect(sourceOf(report)).toEqual(Object.fromEntries(UIDS.map((uid, i) => [uid, i === 1 || i === 2 ? 'nbia' : 'idc'])));
    expect(result.stdout).toMatch(/stale index/);
    expect(result.stdout).toMatch(/IDC failed after its retries .*AccessDenied.*fetching it from NBIA/);
  });

  it('IDC failing part-way through a series: NBIA sends it again over the files already sent, each instance once', async () => {
    world = await startIdcWorld(UIDS.slice(0, 1), { imagesPerSeries: [60, 60] });
    // A late object is refused for good: the ones before it have gone to XNAT by then, under the names NBIA's
    // copies get too (their SOPInstanceUIDs), so XNAT overwrites them instead of keeping both.
    const late = world.idc.objects(UIDS[0]!)[50]!;
    world.idc.faults.set({ error: { status: 403, code: 'AccessDenied', keyPrefix: late.key, kind: 'object', count: Infinity } });
    const manifest = await writeTciaManifest(world.out, 'partway.tcia', UIDS.slice(0, 1));
    const result = await world.run(['import', manifest, '--project', 'PARTWAY', '--output-dir', world.out, ...FAST]);
    expect(result.stdout).toMatch(/IDC failed after its retries .*AccessDenied.*fetching it from NBIA/);
    expect(result.exitCode).toBe(0);
    expect(sourceOf(await latestReport<Report>(world.out))[UIDS[0]!]).toBe('nbia');
    expectArchivedAsServed(world, 'PARTWAY', UIDS.slice(0, 1));
  });

  it('--source idc fails a series IDC does not hold with a clear message, and never asks NBIA for images', async () => {
    world = await startIdcWorld(UIDS, { inIdc: UIDS.slice(0, 5) });
    const { result, report } = await importAll('IDCONLY', ['--source', 'idc']);
    expect(result.exitCode).toBe(1);
    expect(nbiaImageGets()).toBe(0);
    expect(world.nbia.requests).toHaveLength(0);
    expectArchivedAsServed(world, 'IDCONLY', UIDS.slice(0, 5));
    expect(report.series[5]!.error).toMatch(/IDC's index does not hold this series/);
    expect(report.series[5]!.status).toBe('failed');
  });

  it('--source idc with its endpoint unreachable says so in one line, not as a bug', async () => {
    world = await startIdcWorld(UIDS);
    const { result } = await importAll('IDCDOWN', ['--source', 'idc', '--idc-endpoint', 'http://127.0.0.1:1']);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toMatch(/ERROR: cannot connect to IDC at 127\.0\.0\.1:1 \(ECONNREFUSED\)/);
    expect(result.stdout).not.toMatch(/internal error/);
    expect(result.stderr).toBe('');
  });

  it('--source idc with its index unreachable says so in one line, not as a bug', async () => {
    world = await startIdcWorld(UIDS);
    const { result } = await importAll('IDXDOWN', ['--source', 'idc', '--idc-index', 'http://127.0.0.1:1/tcia_idc_subset.parquet', '--attempts', '1']);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toMatch(/ERROR: cannot connect to IDC at 127\.0\.0\.1:1 \(ECONNREFUSED\)/);
    expect(result.stdout).not.toMatch(/internal error/);
    expect(result.stderr).toBe('');
    expect(world.xnat.archive('IDXDOWN')).toEqual([]);
  });

  it('--source idc: a series whose objects keep breaking off fails naming IDC, never TCIA, which it never asked', async () => {
    world = await startIdcWorld(UIDS.slice(0, 2));
    const broken = world.idc.entry(UIDS[1]!)!;
    world.idc.faults.set({ reset: { keyPrefix: `${broken.seriesUuid}/`, kind: 'object', count: Infinity } });
    const manifest = await writeTciaManifest(world.out, 'resets.tcia', UIDS.slice(0, 2));
    const result = await world.run(['import', manifest, '--project', 'RESETS', '--output-dir', world.out, ...FAST, '--source', 'idc', '--attempts', '1']);
    expect(result.exitCode).toBe(1);
    const report = await latestReport<Report>(world.out);
    expect(report.series[1]!.status).toBe('failed');
    expect(report.series[1]!.error).toMatch(/^IDC download broke off/);
    expect(result.stdout).not.toMatch(/TCIA download/);
    expect(world.nbia.requests.filter((r) => /getImage/.test(r.path))).toEqual([]);
    expectArchivedAsServed(world, 'RESETS', UIDS.slice(0, 1));
  });

  it('multipart ETags: each object is checked against the MD5 TCIA publishes for its instance', async () => {
    world = await startIdcWorld(UIDS.slice(0, 2), { idc: { partSize: 1024 } });
    const manifest = await writeTciaManifest(world.out, 'mp.tcia', UIDS.slice(0, 2));
    const result = await world.run(['import', manifest, '--project', 'MULTIPART', '--output-dir', world.out, ...FAST]);
    expect(result.exitCode).toBe(0);
    expectArchivedAsServed(world, 'MULTIPART', UIDS.slice(0, 2));
    const report = await latestReport<Report>(world.out);
    expect(report.series.map((r) => [r.source, r.verified, r.md5Verified === r.files])).toEqual([['idc', 'md5', true], ['idc', 'md5', true]]);
    const files = world.collection.filter((s) => UIDS.slice(0, 2).includes(s.seriesUid)).reduce((n, s) => n + s.imageCount, 0);
    expect(world.nbia.requests.filter((r) => /v4\/getMD5HashForImage/.test(r.path))).toHaveLength(files);
    expect(nbiaImageGets()).toBe(0);
  });

  it('multipart ETags: a changed byte is never archived: auto takes the series from NBIA, --source idc fails it', async () => {
    world = await startIdcWorld(UIDS.slice(0, 2), { idc: { partSize: 1024 } });
    const damaged = world.idc.entry(UIDS[1]!)!;
    world.idc.faults.set({ corruptByte: { keyPrefix: `${damaged.seriesUuid}/`, count: Infinity } });
    const manifest = await writeTciaManifest(world.out, 'mpbad.tcia', UIDS.slice(0, 2));
    const args = ['import', manifest, '--output-dir', world.out, ...FAST];
    const auto = await world.run([...args, '--project', 'MPAUTO']);
    expect(auto.exitCode).toBe(0);
    expectArchivedAsServed(world, 'MPAUTO', UIDS.slice(0, 2));
    expect(sourceOf(await latestReport<Report>(world.out))).toEqual({ [UIDS[0]!]: 'idc', [UIDS[1]!]: 'nbia' });

    const strict = await world.run([...args, '--project', 'MPIDC', '--source', 'idc', '--attempts', '2']);
    expect(strict.exitCode).toBe(1);
    expectArchivedAsServed(world, 'MPIDC', UIDS.slice(0, 1));
    const failed = (await latestReport<Report>(world.out)).series[1]!;
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/MD5 [0-9a-f]{32} does not match/);
  });

  it('multipart ETags with no MD5 to be had from TCIA: the series is not verified, so it is not archived', async () => {
    world = await startIdcWorld(UIDS.slice(0, 2), { idc: { partSize: 1024 } });
    world.nbia.faults.set({ failFirst: { endpoint: 'getMD5HashForImage', status: 503, count: Infinity } });
    const manifest = await writeTciaManifest(world.out, 'mpnone.tcia', UIDS.slice(0, 2));
    const result = await world.run(['import', manifest, '--project', 'MPNONE', '--output-dir', world.out, ...FAST, '--source', 'idc', '--attempts', '1']);
    expect(result.exitCode).toBe(1);
    expect(world.xnat.archive('MPNONE').flatMap((s) => s.scans)).toEqual([]);
    const rows = (await latestReport<Report>(world.out)).series;
    expect(rows.map((r) => r.status)).toEqual(['failed', 'failed']);
    expect(rows[0]!.error).toMatch(/IDC's ETag for it is not an MD5 .*TCIA's MD5 of instance [0-9.]+ could not be fetched/);
  });
});

it('an index that is not parquet: --source idc stops with exit 2, auto warns and takes everything from NBIA', async () => {
  world = await startIdcWorld(UIDS.slice(0, 2));
  const bogus = join(world.out, 'index.parquet');
  await writeFile(bogus, 'not a parquet file');
  const manifest = await writeTciaManifest(world.out, 'bogus.tcia', UIDS.slice(0, 2));
  const args = ['import', manifest, '--project', 'BOGUS', '--output-dir', world.out, '--idc-index', bogus, ...FAST];
  const strict = await world.run([...args, '--source', 'idc']);
  expect(strict.exitCode).toBe(2);
  expect(strict.stdout).toMatch(/the IDC index .*index\.parquet is not a parquet file/);
  expect(world.xnat.projectExists('BOGUS')).toBe(false);
  const auto = await world.run(args);
  expect(auto.exitCode).toBe(0);
  expect(auto.stdout).toMatch(/could not be read .*every series comes from NBIA/);
  expect((await latestReport<Report>(world.out)).series.map((r) => r.source)).toEqual(['nbia', 'nbia']);
});

describe('IDC faults: each object retried on its own until the archive is complete and byte-identical', () => {
  it.each([
    ['503 SlowDown', { error: { count: 3, kind: 'object' as const, retryAfter: 0 } }],
    ['a reset connection', { reset: { count: 2, kind: 'object' as const } }],
    ['a truncated body', { truncateAfterBytes: { bytes: 700, count: 2 } }],
    ['a stalled body', { stallAfterBytes: { bytes: 700, count: 1 } }],
    ['one corrupt byte', { corruptByte: 2 }],
  ])('%s', async (_name, fault) => {
    world = await startIdcWorld(UIDS);
    world.idc.faults.set(fault);
    const { result, report } = await importAll('IDCFAULT');
    expect(result.exitCode).toBe(0);
    expect(world.idc.faults.fired.length).toBeGreaterThan(0);
    expectArchivedAsServed(world, 'IDCFAULT', UIDS);
    expect(report.series.every((r) => r.source === 'idc')).toBe(true);
    expect(nbiaImageGets()).toBe(0);
  });
});

describe('--source', () => {
  it('nbia never contacts the IDC endpoints, not even the index', async () => {
    world = await startIdcWorld(UIDS);
    const { result, report } = await importAll('NBIAONLY', ['--source', 'nbia']);
    expect(result.exitCode).toBe(0);
    expect(world.idc.requests).toEqual([]);
    expect(report.series.every((r) => r.source === 'nbia' && r.verified === 'md5')).toBe(true);
    const viaEnv = await importAll('NBIAENV', [], { XTD_SOURCE: 'nbia' });
    expect(viaEnv.result.exitCode).toBe(0);
    expect(world.idc.requests).toEqual([]);
  });

  it.each([
    ['a typo in --source', ['--source', 'idcc'], {}, /--source "?idcc"? is not one of auto, idc, nbia/],
    ['a typo in XTD_SOURCE', [], { XTD_SOURCE: 'nbai' }, /XTD_SOURCE 'nbai' is not one of auto, idc, nbia/],
    ['--idc-connections 0', ['--idc-connections', '0'], {}, /--idc-connections must be a whole number/],
    ['a missing --idc-index file', ['--idc-index', '/no/such/index.parquet'], {}, /--idc-index \/no\/such\/index\.parquet: no such file/],
  ])('%s exits 2 before any request', async (_name, args, env, message) => {
    world = await startIdcWorld(UIDS);
    const manifest = await writeTciaManifest(world.out, 'idc.tcia', UIDS);
    const result = await runCli(['import', manifest, '--project', 'TYPO', '--output-dir', world.out, ...args], { ...world.env, ...env });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(world.idc.requests).toEqual([]);
    expect(world.nbia.requests).toEqual([]);
    expect(world.xnat.requests).toEqual([]);
  });
});
