/**
 * The seam between "where a series comes from" and "verify → zip → XNAT import" (src/transfer/relay-series.ts).
 * NBIA serves a series as one zip whose MD5 list comes last; IDC (issue 12) as one object per instance, checked
 * by ETag or length. Both fit one shape: a sequence of DICOM files, then the list they must match. The relay
 * verifies (src/transfer/verification.ts) and holds the last file back until that list has confirmed every file,
 * so a source only delivers bytes and the list; it never judges them, except that it may vouch for an MD5 it
 * checks itself as it serves the bytes (SourceFile.md5).
 */
import type { Readable } from 'node:stream';

/** Which source served a series; goes into the report's `source` column. */
export type SourceName = 'idc' | 'nbia';

/**
 * What one file's bytes must match: an MD5 TCIA publishes, or one IDC vouches for (a single-part ETag). An md5 of ''
 * is a file the list names without a checksum, which nothing can match.
 */
export type FileCheck = { kind: 'md5'; md5: string };

/** The list a series is verified against, with the words its failures are reported in. */
export interface CheckList {
  /** By file name, as SourceFile.name gives it. */
  checks: Map<string, FileCheck>;
  /** What the list is called in messages (`md5hashes.csv`, `the IDC listing`). */
  listName: string;
  /** What holds the files, in messages (`the TCIA zip`). */
  holder: string;
}

/** CRC-32 and length of a file's bytes, as the source's container records them (a zip's local header or descriptor). */
export interface DeclaredSums {
  crc: number;
  size: number;
}

/**
 * A file still compressed as the source holds it (raw DEFLATE, as in NBIA's zip), so the relay can copy it to XNAT
 * without inflating and compressing it again; the relay inflates a side copy to check it against `sums` and the list.
 */
export interface DeflatedBody {
  /** The raw DEFLATE bytes, unchecked. Read to its end (or the series given up) before the next file is asked for. */
  chunks: AsyncIterable<Buffer>;
  /** What the source says the inflated bytes are; known once `chunks` has ended. */
  sums(): DeclaredSums;
}

/** One DICOM file of a series: its bytes as they are (`body`), or still compressed (`deflated`). */
export type SourceFile =
  | {
    /** Name inside the series (NBIA zip entry name, or IDC's `<instance uuid>.dcm`); the key into CheckList. */
    name: string;
    /** The bytes, unchecked. Read to its end (or the series given up) before the next file is asked for. */
    body: Readable;
    /**
     * The MD5 the source itself matches these very bytes against as it serves them: `body` ends only when they
     * match and errors otherwise (IDC's object stream), so the relay takes it instead of hashing every byte again.
     */
    md5?: string;
    deflated?: undefined;
  }
  | { name: string; deflated: DeflatedBody; body?: undefined; md5?: undefined };

/** One attempt at a series, as a source serves it. */
export interface SourceSeries {
  source: SourceName;
  seriesUid: string;
  /** What the report's `verified` column says for this series: every file is checked by MD5 before it is committed. */
  verified: 'md5';
  /**
   * The files, one at a time, in the order the source gives them; called once. A source may fetch ahead with
   * bounded concurrency. `signal` is the relay's: once it aborts, every pending read must fail rather than wait.
   */
  files(signal: AbortSignal): AsyncIterable<SourceFile>;
  /**
   * The list, once `files` is exhausted (NBIA learns it only from the zip's last entry). Fails when there is none.
   * `instances` gives each file's SOPInstanceUID as its header named it, for a source whose list needs them
   * (IDC asks TCIA for the MD5 of an object whose ETag is not one).
   */
  checkList(instances: ReadonlyMap<string, string>): Promise<CheckList>;
  /** Stops every download of this attempt; called once the relay is done with it, whether it succeeded or not. */
  close(): void;
}

/** A place series come from. `open` resolves undefined when the source does not hold the series (fall back). */
export interface SeriesSource {
  readonly name: SourceName;
  open(seriesUid: string, signal: AbortSignal): Promise<SourceSeries | undefined>;
  /**
   * The last attempt at a series failed on the source's side (not XNAT's); true when the next attempt will come from another
   * source (IDC falling back to NBIA, src/sources/route.ts), so the failure costs no attempt. Optional: a single
   * source has nowhere to fall back to.
   */
  fallBack?(seriesUid: string): boolean;
}
