/**
 * TCIA's series metadata as NBIA servers have really written it (docs/reference/nbia.md#column-names): the titles
 * of 2025, an answer in titles nobody knows, a NULL first cell that unbalances the CSV; and an md5hashes.csv row
 * NBIA's CTP ingest left blank (docs/reference/nbia.md#md5-list). The CLI is spawned against the emulators.
 */
import { V4_METADATA_COLUMNS, V4_SPACED_TITLES_2025 } from '../../emulators/nbia/index.js';
import { latestReport, writeTciaManifest, type CliResult } from '../support/run-cli.js';
import { expectArchivedAsServed, FAST, startWorld, type World } from '../support/world.js';

const UIDS = ['1.3.6.1.4.1.14519.5.2.1.7.5101', '1.3.6.1.4.1.14519.5.2.1.7.5102', '1.3.6.1.4.1.14519.5.2.1.7.5103'];
// The titles of 2025-08-29 to 2025-10-05: as on 2025-08-05 but for the collection and data description columns.
const TITLES_2025_08_29 = V4_SPACED_TITLES_2025.map((t) => ({ Project: 'Collection', 'Collection URI': 'Data Description URI' })[t] ?? t);

interface Report {
  exitCode: number;
  licenses: unknown[];
  citations: unknown[];
  series: { seriesUid: string; status: string; attempts: number; error: string; [key: string]: unknown }[];
}

let world: World;
afterEach(async () => world?.close());

async function run(project: string, extra: string[] = []): Promise<CliResult> {
  const manifest = await writeTciaManifest(world.out, 'meta.tcia', UIDS);
  return world.run(['import', manifest, '--project', project, '--output-dir', world.out, ...FAST, ...extra]);
}

/** What a dry run made of the metadata: every label, count and provenance field the report carries. */
async function planned(titles?: readonly string[]): Promise<Pick<Report, 'licenses' | 'citations' | 'series'>> {
  world = await startWorld({ nbia: { v4MetadataTitles: titles } });
  const dry = await run('META', ['--dry-run']);
  expect({ exitCode: dry.exitCode, stderr: dry.stderr, log: dry.exitCode === 0 ? '' : dry.stdout }).toEqual({ exitCode: 0, stderr: '', log: '' });
  const { licenses, citations, series } = await latestReport<Report>(world.out);
  await world.close();
  return { licenses, citations, series };
}

describe('v4 getSeriesMetadata in the titles NBIA used in 2025', () => {
  let current: Awaited<ReturnType<typeof planned>>;
  beforeAll(async () => {
    current = await planned();
    // Guard: the fields the older titles name differently are really filled in.
    expect(current.series.every((s) => s.collection !== '' && s.subject !== '' && s.studyUid !== '' && Number(s.imagesExpected) > 0)).toBe(true);
    expect(current.citations).not.toEqual([]);
  });

  it.each([
    ['2025-08-05 (Project, Collection URI)', V4_SPACED_TITLES_2025],
    ['2025-08-29 (Collection, Data Description URI)', TITLES_2025_08_29],
  ])('%s: planned exactly as with the current names, then imported', async (_name, titles) => {
    expect(titles).toHaveLength(V4_METADATA_COLUMNS.length);
    expect(await planned(titles)).toEqual(current);

    world = await startWorld({ nbia: { v4MetadataTitles: titles } });
    const result = await run('SPACED');
    expect(result.stderr).toBe('');
    expect({ exitCode: result.exitCode, log: result.exitCode === 0 ? '' : result.stdout }).toEqual({ exitCode: 0, log: '' });
    expectArchivedAsServed(world, 'SPACED', UIDS);
  });
});

describe('a metadata answer the tool cannot use stops the run with one line about TCIA, not about the series', () => {
  function expectStoppedOn(result: CliResult, line: RegExp): void {
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(1);
    const errors = result.stdout.split('\n').filter((l) => /ERROR/.test(l));
    expect(errors[0]).toMatch(line);
    expect(errors.slice(1)).toEqual([expect.stringMatching(/summary: nothing imported; exit 1: stopped on the error above/)]);
    expect(result.stdout).not.toMatch(/internal error|no public series|unknown at TCIA/);
    expect(world.imports()).toBe(0);
  }

  it('titles with no series UID among them: "not recognised"', async () => {
    world = await startWorld({ nbia: { v4MetadataTitles: V4_METADATA_COLUMNS.map((_t, i) => `Field ${i + 1}`) } });
    const result = await run('ODDTITLES');
    expectStoppedOn(result, /TCIA's getSeriesMetadata answer was not recognised: none of its 3 row\(s\) gives a SeriesInstanceUID \(columns: Field 1, Field 2, .*\)/);
  });

  it("a NULL PatientID, written by NBIA's quoted-CSV writer: \"could not be read\"", async () => {
    world = await startWorld();
    world.nbia.faults.set({ nullMetadataCell: { column: 'PatientID', seriesUid: UIDS[1], count: Infinity } });
    const result = await run('NULLCELL');
    expect(world.nbia.faults.fired.map((f) => f.kind)).toContain('nullMetadataCell');
    expectStoppedOn(result, /TCIA's getSeriesMetadata answer could not be read: Parse Error/);
  });
});

describe('md5hashes.csv with a blank hash', () => {
  it('refuses that series at once, saying TCIA publishes no checksum for the file; the others are imported', async () => {
    world = await startWorld();
    world.nbia.faults.set({ blankMd5: { entryIndex: 1, seriesUid: UIDS[0], count: Infinity } });
    const result = await run('BLANKMD5', ['--retries', '3']);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(1);
    expectArchivedAsServed(world, 'BLANKMD5', [UIDS[1]!, UIDS[2]!]);
    expect(world.xnat.archive('BLANKMD5').flatMap((s) => s.scans).some((s) => s.seriesInstanceUid === UIDS[0])).toBe(false);
    const failed = (await latestReport<Report>(world.out)).series.find((s) => s.seriesUid === UIDS[0])!;
    expect(failed).toMatchObject({ status: 'failed', attempts: 1, error: '00000002.dcm: TCIA publishes no checksum for this file (its md5hashes.csv row is blank), so it cannot be verified' });
    expect(world.nbia.requests.filter((r) => r.path.includes('getImage') && r.query.SeriesInstanceUID === UIDS[0])).toHaveLength(1);
    expect(result.stdout).not.toMatch(/retrying|not listed in md5hashes/);
  });
});
