/**
 * The index lookup reads each row group in windows of rows, as pyarrow's million-row groups need
 * (docs/reference/idc.md#index). A small file with a small window crosses the same edges: every wanted series is
 * found whether it sits at a window's first or last row, a group's, or the file's; a UID listed twice keeps its first
 * row; each column chunk is fetched once however many windows read it; and the result is the same as with one window
 * per group and as from the same rows laid out as DuckDB writes them.
 */
import { parquetMetadata, type AsyncBuffer, type FileMetaData } from 'hyparquet';
import { INDEX_LAYOUTS, writeIndexParquet, type IdcIndexRow } from '../../emulators/idc/index.js';
import { findSeries } from '../../src/sources/idc/index-reader.js';

const ROWS = 2300;
const GROUP = 1000;
const WINDOW = 256;
/** A UID the file lists twice, in two row groups; the first row is the one IDC's lookup keeps. */
const TWICE = { first: 300, again: 1500 };

function row(i: number): IdcIndexRow {
  const uid = i === TWICE.again ? uidAt(TWICE.first) : uidAt(i);
  return {
    collection_id: `collection_${Math.floor(i / 700)}`,
    PatientID: `PT-${i}`,
    StudyInstanceUID: `1.3.6.1.4.1.14519.5.2.1.90.${Math.floor(i / 3)}`,
    SeriesInstanceUID: uid,
    series_size_MB: i / 4,
    series_aws_url: `s3://idc-open-data-${i % 2 ? 'two' : 'cr'}/00000000-0000-4000-8000-${String(i).padStart(12, '0')}/*`,
  };
}
function uidAt(i: number): string {
  return `1.3.6.1.4.1.14519.5.2.1.91.${(i * 7919) % 104_729}.${i}`;
}

/** Window and group edges, the file's first and last rows, and one row inside a window. */
const WANTED_ROWS = [0, 1, WINDOW - 1, WINDOW, 2 * WINDOW - 1, 3 * WINDOW + 5, GROUP - 1, GROUP, GROUP + WINDOW - 1, GROUP + WINDOW, 2 * GROUP, ROWS - 1, TWICE.first];

interface Index {
  file: AsyncBuffer;
  metadata: FileMetaData;
  slices: string[];
}

async function index(rowGroupSize: number, pageSize: number): Promise<Index> {
  const rows = Array.from({ length: ROWS }, (_, i) => row(i));
  const bytes = (await writeIndexParquet([rows], undefined, { rowGroupSize, pageSize, pageIndex: false })) as Buffer;
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer;
  const slices: string[] = [];
  const file: AsyncBuffer = {
    byteLength: buffer.byteLength,
    slice: (start, end) => (slices.push(`${start}-${end}`), buffer.slice(start, end)),
  };
  return { file, metadata: parquetMetadata(buffer), slices };
}

const wanted = new Set([...WANTED_ROWS.map(uidAt), '1.2.3.not.in.idc']);

it('finds every wanted series across windows and row groups, the first row of a UID listed twice, each chunk fetched once', async () => {
  // ~2 KB pages: a window starts and ends inside a page, as pyarrow's ~1 MB pages do in its million-row groups.
  const pyarrowLike = await index(GROUP, 2048);
  expect(pyarrowLike.metadata.row_groups.map((g) => Number(g.num_rows))).toEqual([GROUP, GROUP, ROWS - 2 * GROUP]);
  const found = await findSeries(pyarrowLike.file, pyarrowLike.metadata, wanted, WINDOW);

  expect([...found.keys()].sort()).toEqual(WANTED_ROWS.map(uidAt).sort());
  for (const i of WANTED_ROWS) {
    const r = row(i);
    expect(found.get(uidAt(i))).toEqual({
      bucket: i % 2 ? 'idc-open-data-two' : 'idc-open-data-cr',
      seriesUuid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      sizeMB: r.series_size_MB, studyUid: r.StudyInstanceUID, patientId: r.PatientID, collection: r.collection_id,
    });
  }
  // Nothing is fetched twice: the windows of one column chunk share its bytes.
  expect(pyarrowLike.slices.length).toBeGreaterThan(0);
  expect(new Set(pyarrowLike.slices).size).toBe(pyarrowLike.slices.length);

  // One window per group (the production window is larger than these groups), and DuckDB's layout: the same answer.
  const again = await index(GROUP, 2048);
  expect(await findSeries(again.file, again.metadata, wanted)).toEqual(found);
  const duckdbLike = await index(INDEX_LAYOUTS.duckdb.rowGroupSize, INDEX_LAYOUTS.duckdb.pageSize);
  expect(duckdbLike.metadata.row_groups).toHaveLength(1);
  expect(await findSeries(duckdbLike.file, duckdbLike.metadata, wanted, WINDOW)).toEqual(found);
});
