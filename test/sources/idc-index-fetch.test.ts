// What the index lookup fetches over HTTP: the footer, the SeriesInstanceUID column, and the other columns only
// around the rows that hold a wanted UID; a warm cache answers from disk.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetMetadata, type FileMetaData } from 'hyparquet';
import { buildCollection, type SeriesSpec } from '../../emulators/dicom/synthetic-series.js';
import { IdcCatalog, indexParquetFor, startIdcEmulator, type IdcEmulator } from '../../emulators/idc/index.js';
import { lookupIdcSeries } from '../../src/sources/idc/index-reader.js';

const FAST = { attempts: 2, baseDelayMs: 5, maxDelayMs: 20 };
const GROUP = 1000;
// 4000 series in four row groups; 8 KB pages give each column chunk several pages.
const series = buildCollection(Array.from({ length: 4000 }, (_, i) => `1.3.6.1.4.1.14519.5.2.1.79.${i}`));
let bytes: Buffer;
let metadata: FileMetaData;
let emu: IdcEmulator;
let dir: string;

beforeAll(async () => {
  bytes = await indexParquetFor(new IdcCatalog(series).entries(), { rowGroupSize: GROUP, pageSize: 8 * 1024 });
  metadata = parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer);
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'xtd-idc-fetch-'));
  await writeFile(join(dir, 'index.parquet'), bytes);
  emu = await startIdcEmulator({ collection: series.slice(0, 1), indexFile: join(dir, 'index.parquet') });
});
afterEach(async () => {
  await emu.close();
  await rm(dir, { recursive: true, force: true });
});

interface Range {
  start: number;
  end: number;
}

/** The byte ranges of the index that the emulator served, end exclusive. */
function served(): Range[] {
  return emu.requests
    .filter((r) => r.method === 'GET' && r.bucket === 'idc-index-data-artifacts')
    .map((r) => {
      const m = /^bytes=(\d+)-(\d+)$/.exec(r.range ?? '');
      if (!m) throw new Error(`an index GET without a byte range: ${r.range}`);
      return { start: Number(m[1]), end: Number(m[2]) + 1 };
    });
}

/** The byte range of one column chunk. */
function chunk(group: number, column: string): Range {
  const meta = metadata.row_groups[group]!.columns.find((c) => c.meta_data?.path_in_schema[0] === column)!.meta_data!;
  const start = Number(meta.dictionary_page_offset ?? meta.data_page_offset);
  return { start, end: start + Number(meta.total_compressed_size) };
}

const inside = (r: Range, outer: Range) => outer.start <= r.start && r.end <= outer.end;
const footer = (): Range => ({ start: bytes.length - 64 * 1024, end: bytes.length });
const uidChunks = () => metadata.row_groups.map((_, g) => chunk(g, 'SeriesInstanceUID'));
const total = (ranges: Range[]) => ranges.reduce((sum, r) => sum + r.end - r.start, 0);
const uid = (row: number) => (series[row] as SeriesSpec).seriesUid;

test('a lookup that finds nothing fetches the footer and the SeriesInstanceUID column, nothing else', async () => {
  const result = await lookupIdcSeries(emu.indexUrl, ['1.2.3.not.in.idc'], { cacheDir: dir, retry: FAST });
  expect(result.series.size).toBe(0);
  const ranges = served();
  expect(ranges.filter((r) => !inside(r, footer()) && !uidChunks().some((c) => inside(r, c)))).toEqual([]);
  expect(result.bytesFetched).toBe(total(ranges));
  expect(result.bytesFetched).toBeLessThanOrEqual(64 * 1024 + total(uidChunks()));
  expect(result.bytesFetched).toBeLessThan(bytes.length / 2);
});

test('the other columns are read only in the row group of a hit, and only the pages around it', async () => {
  const row = 2 * GROUP + 500;
  const result = await lookupIdcSeries(emu.indexUrl, [uid(row)], { cacheDir: dir, retry: FAST });
  expect(result.series.get(uid(row))?.patientId).toBe(series[row]!.patientId);
  const others = served().filter((r) => !inside(r, footer()) && !uidChunks().some((c) => inside(r, c)));
  // Row group 2's bytes, or the page indexes that the writer puts after the last row group.
  const allowed: Range[] = [{ start: chunk(2, 'collection_id').start, end: chunk(3, 'collection_id').start }, { start: chunk(3, 'series_aws_url').end, end: bytes.length }];
  expect(others.length).toBeGreaterThan(0);
  expect(others.filter((r) => !allowed.some((a) => inside(r, a)))).toEqual([]);
  // Page-level: well under the five other column chunks of that row group.
  const otherChunks = ['collection_id', 'PatientID', 'StudyInstanceUID', 'series_size_MB', 'series_aws_url'].map((c) => chunk(2, c));
  const overlap = (r: Range, c: Range) => Math.max(0, Math.min(r.end, c.end) - Math.max(r.start, c.start));
  const read = others.reduce((sum, r) => sum + otherChunks.reduce((s, c) => s + overlap(r, c), 0), 0);
  expect(read).toBeGreaterThan(0);
  expect(read).toBeLessThan(total(otherChunks) / 2);
});

test('a warm cache fetches nothing: the same lookup, and another manifest whose rows lie inside ranges already kept', async () => {
  const first = await lookupIdcSeries(emu.indexUrl, [uid(GROUP + 10), uid(2 * GROUP - 10)], { cacheDir: dir, retry: FAST });
  expect(first.series.size).toBe(2);
  expect(first.bytesFetched).toBeGreaterThan(0);
  const before = emu.requests.length;
  const again = await lookupIdcSeries(emu.indexUrl, [uid(GROUP + 10), uid(2 * GROUP - 10)], { cacheDir: dir, retry: FAST });
  const other = await lookupIdcSeries(emu.indexUrl, [uid(GROUP + 500)], { cacheDir: dir, retry: FAST });
  expect([again.bytesFetched, other.bytesFetched]).toEqual([0, 0]);
  expect(other.series.get(uid(GROUP + 500))?.studyUid).toBe(series[GROUP + 500]!.studyUid);
  expect(emu.requests.slice(before).map((r) => [r.method, r.status])).toEqual([['HEAD', 304], ['HEAD', 304]]);
});
