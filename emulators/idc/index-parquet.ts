// Writes tcia_idc_subset.parquet the way IDC publishes it: six columns, ZSTD pages, several row groups.
import { compress, decompress, init } from '@bokuweb/zstd-wasm';
import { ByteWriter, ParquetWriter, fileWriter, type ColumnSource } from 'hyparquet-writer';
import { seriesByteSize, type SeriesSpec } from '../dicom/synthetic-series.js';
import type { IdcSeriesEntry } from './catalog.js';

/** One row of the index (docs/reference/idc.md#index). */
export interface IdcIndexRow {
  collection_id: string;
  PatientID: string;
  StudyInstanceUID: string;
  SeriesInstanceUID: string;
  series_size_MB: number;
  /** `s3://<bucket>/<crdc_series_uuid>/*`; null for a row that says not where (a NULL in the file). */
  series_aws_url: string | null;
}

/** Column order of the published file. */
export const INDEX_COLUMNS = ['collection_id', 'PatientID', 'StudyInstanceUID', 'SeriesInstanceUID', 'series_size_MB', 'series_aws_url'] as const;

/** IDC's collection_id is the TCIA name lower-cased with '_' for '-' and ' ' (e.g. cmb_crc). */
export function idcCollectionId(collection: string): string {
  return collection.toLowerCase().replace(/[- ]/g, '_');
}

/** The index row IDC would publish for a synthetic series. */
export function indexRow(entry: IdcSeriesEntry): IdcIndexRow {
  const spec: SeriesSpec = entry.spec;
  return {
    collection_id: idcCollectionId(spec.collection),
    PatientID: spec.patientId,
    StudyInstanceUID: spec.studyUid,
    SeriesInstanceUID: spec.seriesUid,
    series_size_MB: Math.round(seriesByteSize(spec) / 1e4) / 100,
    series_aws_url: `s3://${entry.bucket}/${entry.seriesUuid}/*`,
  };
}

let zstdReady: Promise<void> | undefined;

function columns(rows: readonly IdcIndexRow[], pageIndex: boolean): ColumnSource[] {
  return INDEX_COLUMNS.map((name) => ({
    name,
    data: rows.map((r) => r[name]),
    type: name === 'series_size_MB' ? 'DOUBLE' : 'STRING',
    nullable: true,
    offsetIndex: pageIndex,
  }));
}

/** Options for writing; row groups default to 100 rows so even a small test collection spans several. */
export interface IndexWriteOptions {
  rowGroupSize?: number;
  /** ZSTD level; the default 3 is zstd's own default. */
  level?: number;
  /** Target uncompressed page size in bytes (the writer's default is 1 MB); small pages let tests see page-level reads. */
  pageSize?: number;
  /**
   * Write an offset index for chunks of several pages (the writer's default, true). IDC's file has none, whether
   * DuckDB or pyarrow wrote it last (docs/reference/idc.md#index): without one a reader fetches whole column chunks.
   */
  pageIndex?: boolean;
}

/**
 * The layouts IDC's file has had (docs/reference/idc.md#index): as DuckDB writes it (up to idc-index-data 24.2.0), row
 * groups of 122,880 rows with one page per column chunk; as pyarrow rewrites it (since 24.2.1), up to 1,048,576 rows
 * in a row group (a million-row index is one group) in ~1 MB pages. Neither has a page index.
 */
export const INDEX_LAYOUTS = {
  duckdb: { rowGroupSize: 122_880, pageSize: 100_000_000, pageIndex: false },
  pyarrow: { rowGroupSize: 1_048_576, pageSize: 1024 * 1024, pageIndex: false },
} as const satisfies Record<string, IndexWriteOptions>;

/** Which writer last wrote the index. */
export type IndexWriter = keyof typeof INDEX_LAYOUTS;

/**
 * Writes the rows as a ZSTD parquet file, a row group at a time, so a million-row index never needs all rows at
 * once: `batches` yields row arrays (each becomes one or more row groups). Returns the bytes when `path` is absent.
 */
export async function writeIndexParquet(batches: Iterable<readonly IdcIndexRow[]>, path?: string, options: IndexWriteOptions = {}): Promise<Buffer | undefined> {
  // One zstd module per process, shared with the index reader: a second init() would break it, so probe first.
  await (zstdReady ??= Promise.resolve().then(() => void decompress(new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0x20, 0, 1, 0, 0]))).catch(() => init()));
  const level = options.level ?? 3;
  const rowGroupSize = options.rowGroupSize ?? 100;
  const writer = path ? fileWriter(path) : new ByteWriter();
  let parquet: ParquetWriter | undefined;
  for (const rows of batches) {
    if (rows.length === 0) continue;
    const columnData = columns(rows, options.pageIndex ?? true);
    parquet ??= new ParquetWriter({
      writer,
      schema: [
        { name: 'duckdb_schema', num_children: INDEX_COLUMNS.length },
        ...INDEX_COLUMNS.map((name) =>
          name === 'series_size_MB'
            ? { name, type: 'DOUBLE' as const, repetition_type: 'OPTIONAL' as const }
            : { name, type: 'BYTE_ARRAY' as const, converted_type: 'UTF8' as const, repetition_type: 'OPTIONAL' as const },
        ),
      ],
      codec: 'ZSTD',
      compressors: { ZSTD: (bytes: Uint8Array) => compress(bytes, level) },
      createdBy: 'xtd idc emulator',
    });
    await parquet.write({ columnData, rowGroupSize, pageSize: options.pageSize });
  }
  if (!parquet) throw new Error('an IDC index needs at least one row');
  await parquet.finish();
  return path ? undefined : Buffer.from(writer.getBuffer());
}

/** The index of a collection, in memory. */
export async function indexParquetFor(entries: readonly IdcSeriesEntry[], options: IndexWriteOptions = {}, rowOf: (entry: IdcSeriesEntry) => IdcIndexRow = indexRow): Promise<Buffer> {
  return (await writeIndexParquet([entries.map(rowOf)], undefined, options)) as Buffer;
}
