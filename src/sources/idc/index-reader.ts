import { parquetMetadataAsync, parquetRead, type AsyncBuffer, type Awaitable, type Compressors, type FileMetaData } from 'hyparquet';
import { compressors as jsCompressors } from 'hyparquet-compressors';
import { openIndexFile, type IndexFileOptions } from './index-file.js';
import { XtdError } from '../../errors.js';
import { IdcIndexError } from './index-location.js';

/** Where IDC keeps one series, and the index's facts about it (docs/reference/idc.md#index). */
export interface IdcSeriesLocation {
  bucket: string;
  /** crdc_series_uuid: objects are `<bucket>/<seriesUuid>/<instance uuid>.dcm`. */
  seriesUuid: string;
  /** series_size_MB, as published (an estimate for progress, not a check). */
  sizeMB: number;
  studyUid: string;
  patientId: string;
  /** IDC's collection_id, e.g. 'cmb_crc'. */
  collection: string;
}

export interface IdcIndexLookup {
  /** SeriesInstanceUID → location, for the wanted UIDs the index holds; a UID absent here is not in IDC's release. */
  series: Map<string, IdcSeriesLocation>;
  /** Wanted UIDs whose row has no series_aws_url: IDC cannot say where they are, so they count as not in IDC. */
  unlocated: string[];
  /** The index's ETag, or undefined for a local file. */
  etag?: string;
  /** Rows in the index. */
  rows: number;
  /** Bytes fetched over the network for this lookup (0 for a local file or a fully cached one). */
  bytesFetched: number;
}

const UID_COLUMN = 'SeriesInstanceUID';
const OTHER_COLUMNS = ['collection_id', 'PatientID', 'StudyInstanceUID', 'series_size_MB', 'series_aws_url'] as const;

/** `s3://<bucket>/<uuid>/*` → bucket and uuid. */
export function parseSeriesAwsUrl(url: string): { bucket: string; seriesUuid: string } | undefined {
  const m = /^s3:\/\/([^/]+)\/([^/]+)\/\*?$/.exec(url.trim());
  return m ? { bucket: m[1] as string, seriesUuid: m[2] as string } : undefined;
}

/**
 * Looks the wanted SeriesInstanceUIDs up in the index (a URL or a local path). Memory is bounded by a window of rows,
 * not the file: the UID column is read a window at a time, and the other five columns only in the windows that hold
 * a wanted UID (docs/reference/idc.md#index).
 */
export async function lookupIdcSeries(source: string, uids: Iterable<string>, options: IndexFileOptions = {}): Promise<IdcIndexLookup> {
  const index = await openIndexFile(source, options);
  // The footer of a million-row index is a few KB; hyparquet's default first read (512 KB) would be mostly data.
  const metadata = await parquetMetadataAsync(index.file, { initialFetchSize: 64 * 1024 }).catch((error: unknown) => {
    // A failed read (the host's answer, the network) says nothing about the file's format: it is reported as it is.
    if (error instanceof XtdError) throw error;
    throw new IdcIndexError(`the IDC index ${source} is not a parquet file (${(error as Error).message})`);
  });
  const unlocated = new Set<string>();
  const series = await findSeries(index.file, metadata, new Set(uids), WINDOW_ROWS, unlocated);
  return { series, unlocated: [...unlocated], etag: index.etag, rows: Number(metadata.num_rows), bytesFetched: index.bytesFetched() };
}

/**
 * Rows decoded per read of a column. hyparquet gathers every page of one read into one array of byte views, so a
 * read of a whole row group costs memory in proportion to the group: fine for DuckDB's 122,880 rows (one window, as
 * before), not for the million-row group pyarrow writes (docs/reference/idc.md#index).
 */
export const WINDOW_ROWS = 131_072;

/**
 * The lookup over an already open parquet file; `windowRows` is for tests, to cross windows in a small file. UIDs
 * whose row has no series_aws_url go into `unlocated` instead.
 */
export async function findSeries(
  file: AsyncBuffer, metadata: FileMetaData, wanted: ReadonlySet<string>, windowRows = WINDOW_ROWS, unlocated = new Set<string>(),
): Promise<Map<string, IdcSeriesLocation>> {
  const names = new Set(metadata.schema.map((s) => s.name));
  const missing = [UID_COLUMN, ...OTHER_COLUMNS].filter((c) => !names.has(c));
  if (missing.length > 0) throw new IdcIndexError(`the IDC index has no column ${missing.join(', ')}`);
  const found = new Map<string, IdcSeriesLocation>();
  if (wanted.size === 0) return found;
  // hyparquet-compressors' pure-JS ZSTD: the WebAssembly build decodes 3× faster, but its memory only grows, and with
  // it planning a large manifest against IDC's full index passed 300 MB (docs/reference/idc.md#index).
  const parquet: Parquet = { file, metadata, compressors: jsCompressors };
  // A UID becomes a string only when its bytes hash like a wanted one: the other 98% stay undecoded byte views.
  const wantedHashes = new Set([...wanted].map((uid) => hashBytes(encoder.encode(uid))));
  const candidateUid = (bytes: Uint8Array | undefined) => (bytes && wantedHashes.has(hashBytes(bytes)) ? decoder.decode(bytes) : undefined);
  let groupStart = 0;
  for (const group of metadata.row_groups) {
    const rowStart = groupStart;
    const rowEnd = groupStart + Number(group.num_rows);
    groupStart = rowEnd;
    // Column chunks, not rows: no per-row objects for the 100k+ rows of a window that are not wanted.
    const hits: Hit[] = [];
    const uids = { ...parquet, file: keepLastSlice(file) };
    for (let from = rowStart; from < rowEnd; from += windowRows) {
      const to = Math.min(rowEnd, from + windowRows);
      if (from > rowStart) collectGarbage?.();
      await read(uids, UID_COLUMN, from, to, candidateUid, (first, values) => {
        // The pages at the window's edges hold rows of the windows beside it: those are theirs.
        for (let k = Math.max(0, from - first); k < values.length && first + k < to; k++) {
          const uid = values[k];
          if (typeof uid === 'string' && wanted.has(uid)) hits.push({ row: first + k, fields: { [UID_COLUMN]: uid } });
        }
      });
    }
    if (hits.length > 0) await readHits(parquet, windowsOf(hits, rowStart, windowRows));
    for (const { fields } of hits) addRow(found, fields, unlocated);
    collectGarbage?.();
  }
  for (const uid of found.keys()) unlocated.delete(uid);
  return found;
}

/**
 * A full collection between windows and after each row group, when node runs with --expose-gc (the CLI's shebang and
 * the image do). hyparquet decodes a window of a column into one byte view per row, ~12 MB of them at a time, so
 * they outlive the CLI's young generation and pile up in the old one: without this, V8 let the garbage of several
 * groups reach 90-180 MB before collecting, and a dry run of a 19,148-series manifest against a million-row index
 * peaked at 242-336 MB RSS on Node 20 and 262-365 MB on Node 26, against 221-232 and 254-262 MB with it
 * (docs/benchmarks.md, "Planning a large manifest"). A collection of the lookup's small live heap costs about 20 ms.
 */
const collectGarbage = (globalThis as { gc?: () => void }).gc;

interface Hit {
  row: number;
  fields: Record<string, unknown>;
}

/** The hits (in row order) cut at the same window edges as the UID column's reads. */
function windowsOf(hits: readonly Hit[], groupStart: number, windowRows: number): Hit[][] {
  const windows: Hit[][] = [];
  let last = -1;
  for (const hit of hits) {
    const w = Math.floor((hit.row - groupStart) / windowRows);
    if (w !== last) windows.push([]);
    windows[windows.length - 1]!.push(hit);
    last = w;
  }
  return windows;
}

/**
 * Fills in the other columns of the hit rows, one column at a time, window by window, and in each window only from
 * its first hit to its last: hyparquet skips the pages outside. Strings stay byte views until a hit needs one.
 */
async function readHits(parquet: Parquet, windows: readonly Hit[][]): Promise<void> {
  for (const column of OTHER_COLUMNS) {
    const chunk = { ...parquet, file: keepLastSlice(parquet.file) };
    for (const [w, hits] of windows.entries()) {
      if (w > 0) collectGarbage?.();
      let h = 0;
      await read(chunk, column, hits[0]!.row, hits[hits.length - 1]!.row + 1, (bytes) => bytes, (first, values) => {
        // Chunks arrive in row order, and so do the hits.
        while (h < hits.length && hits[h]!.row < first) h++;
        for (; h < hits.length && hits[h]!.row < first + values.length; h++) {
          const value = values[hits[h]!.row - first];
          hits[h]!.fields[column] = value instanceof Uint8Array ? decoder.decode(value) : value;
        }
      });
    }
  }
}

/**
 * Without a page index (IDC's file has none), hyparquet fetches a column's whole chunk for every read of it, so the
 * windows of one column share the last chunk fetched instead of reading it from the cache or the network again.
 */
function keepLastSlice(file: AsyncBuffer): AsyncBuffer {
  let last: { start: number; end: number | undefined; bytes: Awaitable<ArrayBuffer> } | undefined;
  return {
    byteLength: file.byteLength,
    slice(start, end) {
      if (last?.start !== start || last.end !== end) last = { start, end, bytes: file.slice(start, end) };
      return last.bytes;
    },
  };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** FNV-1a, 32 bits: a cheap filter in front of the exact Set lookup (a collision only costs one decode). */
function hashBytes(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}

function addRow(found: Map<string, IdcSeriesLocation>, fields: Partial<Record<string, unknown>>, unlocated: Set<string>): void {
  const uid = String(fields[UID_COLUMN]);
  // One row without a place (NULL) says nothing about the others: only that series is not to be had from IDC.
  if (fields.series_aws_url === null || fields.series_aws_url === undefined || fields.series_aws_url === '') {
    unlocated.add(uid);
    return;
  }
  const awsUrl = String(fields.series_aws_url);
  const where = parseSeriesAwsUrl(awsUrl);
  if (!where) throw new IdcIndexError(`the IDC index's series_aws_url for ${uid} is not s3://<bucket>/<uuid>/*: ${awsUrl}`);
  // A UID listed twice keeps its first row; IDC's index has one row per series.
  if (found.has(uid)) return;
  found.set(uid, {
    ...where,
    sizeMB: Number(fields.series_size_MB ?? 0),
    studyUid: String(fields.StudyInstanceUID ?? ''),
    patientId: String(fields.PatientID ?? ''),
    collection: String(fields.collection_id ?? ''),
  });
}

interface Parquet {
  file: AsyncBuffer;
  metadata: FileMetaData;
  compressors: Compressors;
}

type StringFromBytes = (bytes: Uint8Array | undefined) => unknown;

function read(parquet: Parquet, column: string, rowStart: number, rowEnd: number, strings: StringFromBytes, onValues: (firstRow: number, values: ArrayLike<unknown>) => void): Promise<void> {
  return parquetRead({
    ...parquet, columns: [column], rowStart, rowEnd, useOffsetIndex: true,
    parsers: { stringFromBytes: strings as (bytes: Uint8Array) => string },
    onChunk: ({ columnData, rowStart: first }) => onValues(first, columnData as ArrayLike<unknown>),
  });
}
