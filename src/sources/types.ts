/**
 * Proposal (issue 12): the seam between "where a series comes from" and "verify → zip → XNAT import". Both NBIA
 * (one zip per series, MD5s in md5hashes.csv) and IDC (one S3 object per instance, ETag or length) can serve a
 * series as a sequence of DICOM files, each carrying what it must be checked against. The transfer stage consumes
 * this and stays the same whichever source answered; NBIA is not moved onto it yet.
 */
import type { Readable } from 'node:stream';

/** Which source served a series; goes into the report's `source` column. */
export type SourceName = 'idc' | 'nbia';

/** How one file's bytes are checked before they may be committed; `size` is IDC's multipart-ETag case. */
export type FileCheck =
  | { kind: 'md5'; md5: string }
  | { kind: 'size'; size: number };

/** One DICOM file of a series, opened lazily so a source may fetch several at once with bounded concurrency. */
export interface SourceFile {
  /** Name inside the series (NBIA zip entry name, or IDC's `<instance uuid>.dcm`). */
  name: string;
  /** Expected length when the source knows it up front (IDC's listing; NBIA learns it from the zip). */
  size?: number;
  check: FileCheck;
  /**
   * The bytes. The stream ends only after `check` passed; on a mismatch it errors instead (retryable), so a consumer
   * must not commit a file before 'end'. Each call is a fresh attempt: a source that can retry one file (IDC) lets
   * the caller call again; one that cannot (NBIA's zip) throws a retryable error for the whole series.
   */
  open(signal: AbortSignal): Readable | Promise<Readable>;
}

/** A series as a source holds it. */
export interface SourceSeries {
  source: SourceName;
  seriesUid: string;
  /** Instances the source says the series has (IDC: the listing; NBIA: md5hashes.csv rows, known at the end). */
  expectedCount?: number;
  /** What the report's `verified` column says for this series: every file by MD5, or by size plus header. */
  verified: 'md5' | 'size+header';
  /** Files in the order the source gives them; files may be opened concurrently up to the source's limit. */
  files(signal: AbortSignal): AsyncIterable<SourceFile>;
}

/** A place series come from. `open` resolves undefined when the source does not hold the series (fall back). */
export interface SeriesSource {
  readonly name: SourceName;
  open(seriesUid: string, signal: AbortSignal): Promise<SourceSeries | undefined>;
}
