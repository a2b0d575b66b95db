/**
 * A million-row stand-in for IDC's tcia_idc_subset.parquet holding a manifest's UIDs, laid out as DuckDB writes the
 * real file: row groups of 122,880 rows (its default) and one data page per column chunk (DuckDB splits pages only at
 * 100 MB uncompressed); docs/reference/idc.md#index. Used by scripts/bench-idc-index.ts and the planning bench.
 */
import { stat } from 'node:fs/promises';
import { uidFromSeed } from '../emulators/dicom/synthetic-series.js';
import { uuidFromSeed, writeIndexParquet, type IdcIndexRow } from '../emulators/idc/index.js';

const ROW_GROUP = 122_880;
const PAGE_SIZE = 100_000_000;

/** `spread` (the worst case) puts the UIDs evenly through the file; `block` in consecutive rows, as one collection's. */
export type IndexLayout = 'spread' | 'block';

function row(i: number, uid: string): IdcIndexRow {
  const patient = Math.floor(i / 8);
  return {
    collection_id: `collection_${Math.floor(i / 20_000)}`,
    PatientID: `PT-${String(patient).padStart(7, '0')}`,
    StudyInstanceUID: uidFromSeed(`bench-study:${Math.floor(i / 3)}`),
    SeriesInstanceUID: uid,
    series_size_MB: (i % 997) / 3,
    series_aws_url: `s3://idc-open-data/${uuidFromSeed(`bench-series:${uid}`)}/*`,
  };
}

function* batches(wanted: readonly string[], rows: number, layout: IndexLayout): Generator<IdcIndexRow[]> {
  const stride = layout === 'spread' ? Math.floor(rows / wanted.length) : 1;
  const first = layout === 'spread' ? 0 : Math.floor((rows - wanted.length) / 2);
  let next = 0;
  for (let start = 0; start < rows; start += ROW_GROUP) {
    const group: IdcIndexRow[] = [];
    for (let i = start; i < Math.min(rows, start + ROW_GROUP); i++) {
      const manifestUid = i >= first && (i - first) % stride === 0 && next < wanted.length ? wanted[next++] : undefined;
      group.push(row(i, manifestUid ?? uidFromSeed(`bench-uid:${i}`)));
    }
    yield group;
  }
}

/** Writes the index to `path` unless `reuse` and a file is already there (writing takes longer than reading). */
export async function writeBenchIndex(path: string, wanted: readonly string[], rows: number, layout: IndexLayout, reuse = false): Promise<number> {
  if (!(reuse && (await stat(path).catch(() => undefined)))) await writeIndexParquet(batches(wanted, rows, layout), path, { rowGroupSize: ROW_GROUP, pageSize: PAGE_SIZE });
  return Number((await stat(path)).size);
}
