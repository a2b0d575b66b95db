/**
 * A million-row stand-in for IDC's tcia_idc_subset.parquet holding a manifest's UIDs, in either layout IDC has
 * published (INDEX_LAYOUTS; docs/reference/idc.md#index). Used by scripts/bench-idc-index.ts and the planning bench.
 */
import { stat } from 'node:fs/promises';
import { uidFromSeed } from '../emulators/dicom/synthetic-series.js';
import { INDEX_LAYOUTS, uuidFromSeed, writeIndexParquet, type IdcIndexRow, type IndexWriter } from '../emulators/idc/index.js';

/** Which writer last wrote the index: DuckDB (IDC up to 24.2.0) or pyarrow (since 24.2.1). */
export type IndexFormat = IndexWriter;
export const INDEX_FORMATS = Object.keys(INDEX_LAYOUTS) as IndexFormat[];

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

function* batches(wanted: readonly string[], rows: number, layout: IndexLayout, rowGroupSize: number): Generator<IdcIndexRow[]> {
  const stride = layout === 'spread' ? Math.floor(rows / wanted.length) : 1;
  const first = layout === 'spread' ? 0 : Math.floor((rows - wanted.length) / 2);
  let next = 0;
  for (let start = 0; start < rows; start += rowGroupSize) {
    const group: IdcIndexRow[] = [];
    for (let i = start; i < Math.min(rows, start + rowGroupSize); i++) {
      const manifestUid = i >= first && (i - first) % stride === 0 && next < wanted.length ? wanted[next++] : undefined;
      group.push(row(i, manifestUid ?? uidFromSeed(`bench-uid:${i}`)));
    }
    yield group;
  }
}

/** Writes the index to `path` unless `reuse` and a file is already there (writing takes longer than reading). */
export async function writeBenchIndex(path: string, wanted: readonly string[], rows: number, layout: IndexLayout, format: IndexFormat, reuse = false): Promise<number> {
  const options = INDEX_LAYOUTS[format];
  if (!(reuse && (await stat(path).catch(() => undefined)))) await writeIndexParquet(batches(wanted, rows, layout, options.rowGroupSize), path, options);
  return Number((await stat(path)).size);
}
