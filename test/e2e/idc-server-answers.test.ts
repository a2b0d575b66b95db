// The CLI against IDC servers and indexes that answer otherwise than AWS and a clean index do: Go-escaped listings, a
// weak index ETag, a NULL series_aws_url, objects refused or replaced, a bucket that lost an object. Each must cost
// at most the series concerned.
import { latestReport, writeTciaManifest } from '../support/run-cli.js';
import { startIdcWorld, type IdcWorld } from '../support/idc-world.js';
import { expectArchivedAsServed, FAST } from '../support/world.js';

const UIDS = Array.from({ length: 6 }, (_, i) => `1.3.6.1.4.1.14519.5.2.1.42.${3000 + i}`);
let world: IdcWorld;
afterEach(async () => world?.close());

interface Row { seriesUid: string; status: string; source: string; verified: string; subject: string; error: string; warning: string; files: number }
interface Report { exitCode: number; series: Row[] }

async function importAll(project: string, extra: string[] = []): Promise<{ result: Awaited<ReturnType<IdcWorld['run']>>; report: Report }> {
  const manifest = await writeTciaManifest(world.out, `${project}.tcia`, UIDS);
  const result = await world.run(['import', manifest, '--project', project, '--output-dir', world.out, ...FAST, ...extra]);
  return { result, report: await latestReport<Report>(world.out) };
}

const byUid = (report: Report): Record<string, Row> => Object.fromEntries(report.series.map((r) => [r.seriesUid, r]));
const nbiaImageGets = (): number => world.nbia.requests.filter((r) => /getImage/.test(r.path)).length;
/** The series of each study, in manifest order. */
function studies(): string[][] {
  const by = new Map<string, string[]>();
  for (const s of world.collection) by.set(s.studyUid, [...(by.get(s.studyUid) ?? []), s.seriesUid]);
  return [...by.values()];
}
/** The first object a listing of the series gives. */
const firstKey = (uid: string): string => world.idc.objects(uid)[0]!.key;

it('a server that escapes ETag quotes as Go does (&#34;, MinIO, SeaweedFS): every series from IDC, MD5-verified', async () => {
  world = await startIdcWorld(UIDS, { idc: { xmlEscapes: 'go' } });
  const { result, report } = await importAll('GOXML', ['--source', 'idc']);
  expect(result.exitCode).toBe(0);
  expect(result.stderr).toBe('');
  expectArchivedAsServed(world, 'GOXML', UIDS);
  expect(report.series.map((r) => [r.source, r.verified])).toEqual(UIDS.map(() => ['idc', 'md5']));
});

it('an index host with a weak ETag: the index is read, every series comes from IDC', async () => {
  world = await startIdcWorld(UIDS, { idc: { weakIndexEtag: true } });
  const { result, report } = await importAll('WEAK', ['--source', 'idc']);
  expect(result.stdout).not.toMatch(/not a parquet file/);
  expect(result.exitCode).toBe(0);
  expectArchivedAsServed(world, 'WEAK', UIDS);
  expect(report.series.every((r) => r.source === 'idc')).toBe(true);
});

it('a NULL series_aws_url: that series alone is not in IDC (auto: NBIA; idc: it fails), with a warning', async () => {
  world = await startIdcWorld(UIDS, { idc: { unlocatedUids: [UIDS[1]!] } });
  const auto = await importAll('NULLURL');
  expect(auto.result.exitCode).toBe(0);
  expect(auto.result.stdout).toMatch(new RegExp(`WARN: series ${UIDS[1]!.replace(/\./g, '\\.')}: IDC's index lists it without a series_aws_url`));
  expectArchivedAsServed(world, 'NULLURL', UIDS);
  expect(auto.report.series.map((r) => r.source)).toEqual(UIDS.map((uid) => (uid === UIDS[1] ? 'nbia' : 'idc')));
  expect(nbiaImageGets()).toBe(1);

  const strict = await importAll('NULLURLIDC', ['--source', 'idc']);
  expect(strict.result.exitCode).toBe(1);
  expectArchivedAsServed(world, 'NULLURLIDC', UIDS.filter((uid) => uid !== UIDS[1]));
  expect(byUid(strict.report)[UIDS[1]!]!.status).toBe('failed');
});

it('objects IDC will not serve at planning cost only their own series: labels from the next series or the index', async () => {
  world = await startIdcWorld(UIDS);
  const [[gone, sibling], refused] = studies() as [[string, string], string[]];
  // The first object of one series is gone (a stale index for it); every object of a whole study is refused.
  world.idc.faults.set({ error: { status: 404, code: 'NoSuchKey', kind: 'object', keyPrefix: firstKey(gone), count: Infinity } });
  for (const uid of refused) world.idc.faults.add({ error: { status: 403, code: 'AccessDenied', kind: 'object', keyPrefix: `${world.idc.entry(uid)!.seriesUuid}/`, count: Infinity } });
  const { result, report } = await importAll('PLANFAULT', ['--source', 'idc']);
  expect(result.exitCode).toBe(1);
  expect(result.stdout).not.toMatch(/nothing imported/);
  const rows = byUid(report);
  expect([gone, ...refused].map((uid) => rows[uid]!.status)).toEqual(['failed', 'failed', 'failed']);
  expect(rows[gone]!.error).toMatch(/NoSuchKey/);
  expect(rows[refused[0]!]!.error).toMatch(/AccessDenied/);
  const rest = UIDS.filter((uid) => uid !== gone && !refused.includes(uid));
  expectArchivedAsServed(world, 'PLANFAULT', rest);
  // The sibling's header gave the study its subject, PatientName as NBIA would give it.
  const spec = world.collection.find((s) => s.seriesUid === sibling)!;
  expect(rows[sibling]!.subject).toBe(spec.patientName.replace(/[^A-Za-z0-9_-]/g, '_'));
  expect(result.stdout).toMatch(/WARN: study .*: no IDC file header to read labels from \(series .*AccessDenied.*\); its labels come from IDC's index alone/);
  expect(result.stderr).toBe('');
});

it('an object replaced after listing (412 once): the next attempt lists the series again and imports it', async () => {
  world = await startIdcWorld(UIDS.slice(0, 2));
  const entry = world.idc.entry(UIDS[0]!)!;
  // Not the first object, which planning reads: the 412 meets the transfer.
  world.idc.faults.set({ error: { status: 412, code: 'PreconditionFailed', kind: 'object', keyPrefix: world.idc.objects(UIDS[0]!)[1]!.key, count: 1 } });
  const manifest = await writeTciaManifest(world.out, 'replaced.tcia', UIDS.slice(0, 2));
  const result = await world.run(['import', manifest, '--project', 'REPLACED', '--output-dir', world.out, ...FAST, '--source', 'idc']);
  expect(result.exitCode).toBe(0);
  expect(world.idc.faults.remaining()).toBe(0);
  expectArchivedAsServed(world, 'REPLACED', UIDS.slice(0, 2));
  const wholeListings = world.idc.requests.filter((r) => r.key === '' && r.query.prefix === `${entry.seriesUuid}/` && r.query['max-keys'] === undefined);
  expect(wholeListings).toHaveLength(2);
  expect(result.stdout).toMatch(/attempt 1 of \d+ failed, retrying: .*PreconditionFailed/);
});

it('--source idc: a bucket that lost an object is imported as IDC lists it, with a warning in the log and the report', async () => {
  const lostUid = UIDS[3]!;
  // 128 × 128 images, 33 kB a file: a lost one is clearly more than the column's rounding.
  world = await startIdcWorld(UIDS, { matrix: 128, idc: { lostObjects: { [lostUid]: [0] } } });
  const { result, report } = await importAll('LOST', ['--source', 'idc']);
  expect(result.exitCode).toBe(0);
  const rows = byUid(report);
  const spec = world.collection.find((s) => s.seriesUid === lostUid)!;
  expect(rows[lostUid]!.files).toBe(spec.imageCount - 1);
  expect(rows[lostUid]!.warning).toMatch(/^IDC lists \d+ objects, [\d.]+ kB, [\d.]+ kB short of the [\d.]+ MB its index gives for this series: objects may be missing/);
  expect(report.series.filter((r) => r.warning).map((r) => r.seriesUid)).toEqual([lostUid]);
  expect(result.stdout).toMatch(new RegExp(`WARN: series ${lostUid.replace(/\./g, '\\.')}: IDC lists`));
  expect(result.stdout).toMatch(new RegExp(`WARN: warning: ${lostUid.replace(/\./g, '\\.')} \\(`));
  expect(world.nbia.requests).toEqual([]);
  expectArchivedAsServed(world, 'LOST', UIDS.filter((uid) => uid !== lostUid));

  // auto asks NBIA for metadata, whose ImageCount catches the missing object: the series comes from NBIA whole.
  const auto = await importAll('LOSTAUTO');
  expect(auto.result.exitCode).toBe(0);
  expectArchivedAsServed(world, 'LOSTAUTO', UIDS);
  expect(byUid(auto.report)[lostUid]!).toMatchObject({ source: 'nbia', warning: '' });
});
