import { basename } from 'node:path';
import { isTransportError } from '../retryable.js';
import { Md5MismatchError, SeriesContentError, XtdError } from '../errors.js';
import type { CheckList } from '../sources/types.js';
import { readDicomHeader, type DicomHeader } from './dicom-header.js';

export interface SeriesExpectation {
  seriesUid: string;
  studyUid: string;
  /** 0 when TCIA did not say. */
  imageCount: number;
}

export interface RelayStats {
  files: number;
  bytes: number;
  md5Verified: number;
}

/** What was measured of one file as it went by. */
export interface FileDigest {
  md5: string;
  size: number;
}

/**
 * Every file listed and matching, every listed file present, and as many as TCIA says. A mismatch is damage in
 * transit, so every failure here is retryable, except a file TCIA publishes no checksum for.
 */
export function compareWithList(expected: SeriesExpectation, actual: Map<string, FileDigest>, list: CheckList, stats: RelayStats): void {
  const uid = expected.seriesUid;
  /** Which file each entry of the list vouched for: one entry, one file. */
  const vouched = new Map<string, string>();
  for (const [name, digest] of actual) {
    // A file in a folder of the zip is listed by its whole name or by its bare one (docs/reference/nbia.md#md5-list).
    const key = list.checks.has(name) ? name : basename(name);
    const want = list.checks.get(key);
    if (want === undefined) throw new SeriesContentError(`${name} is not listed in ${list.listName}`, uid, { retryable: true });
    const other = vouched.get(key);
    if (other !== undefined) throw new SeriesContentError(`${other} and ${name} are both checked against the one line for ${key} in ${list.listName}`, uid);
    vouched.set(key, name);
    // TCIA lists the file but publishes no checksum for it: no later attempt can verify it (docs/reference/nbia.md#md5-list).
    if (want.md5 === '') throw new SeriesContentError(`${name}: TCIA publishes no checksum for this file (its ${list.listName} row is blank), so it cannot be verified`, uid);
    if (want.md5 !== digest.md5) throw new Md5MismatchError(name, want.md5, digest.md5, uid);
    stats.md5Verified += 1;
  }
  const missing = [...list.checks.keys()].filter((name) => !vouched.has(name));
  if (missing.length > 0) throw new SeriesContentError(`${missing.length} file(s) listed in ${list.listName} are missing from ${list.holder} (first: ${missing[0]})`, uid, { retryable: true });
  if (expected.imageCount > 0 && actual.size !== expected.imageCount) {
    throw new SeriesContentError(`TCIA lists ${expected.imageCount} images but ${list.holder} holds ${actual.size}`, uid, { retryable: true });
  }
}

/** What the upload is started with when the first file's header cannot be read: labels then come from the plan. */
export const UNREAD_HEADER: DicomHeader = { sopInstanceUid: '', seriesUid: '', studyUid: '', patientId: '', patientName: '', studyDate: '' };

/**
 * The header check of a series, whose verdicts wait for the check list (docs/reference/dicom.md#verdicts). A
 * header that names another series or study is only a suspicion until the list confirms the file: a byte damaged
 * in transit must be retried, not reported. A file whose header cannot be read at all goes to XNAT, which decides.
 */
export class HeaderVerdicts {
  /** The first header that named another series or study; from then on no file may go to XNAT. */
  suspect: SeriesContentError | undefined;
  /** Files whose header could not be read; warned about once they are verified. */
  readonly unreadable: string[] = [];

  constructor(private readonly expected: SeriesExpectation) {}

  /**
   * The header to send the file on with (UNREAD_HEADER when unreadable), or undefined when it may not go on.
   * `more`, when given, yields a longer start of the file, read only when `head` is too short to hold the header.
   */
  judge(name: string, head: Buffer, more?: () => Buffer): DicomHeader | undefined {
    const header = readDicomHeader(head) ?? (more ? readDicomHeader(more()) : undefined);
    const { seriesUid, studyUid } = this.expected;
    let wrong: string | undefined;
    if (header && header.seriesUid !== seriesUid) wrong = `${name} belongs to series ${header.seriesUid}, not ${seriesUid}`;
    else if (header && studyUid && header.studyUid !== studyUid) wrong = `${name} belongs to study ${header.studyUid}, not ${studyUid}`;
    if (wrong !== undefined) this.suspect ??= new SeriesContentError(wrong, seriesUid);
    if (this.suspect) return undefined;
    if (!header) this.unreadable.push(name);
    return header ?? UNREAD_HEADER;
  }
}

/** The verdict on a whole series, once every file went by: the list first, so damage is retried, then the headers. */
export function verifySeries(expected: SeriesExpectation, actual: Map<string, FileDigest>, list: CheckList, verdicts: HeaderVerdicts, stats: RelayStats): void {
  compareWithList(expected, actual, list, stats);
  if (verdicts.suspect) throw verdicts.suspect;
}

/**
 * A broken or cut-off download is a transient fault (the retry table's transport codes), named after the server it
 * came from; our own errors and aborts pass through, and any other raw error is a bug, passed on unchanged so it
 * is never retried.
 */
export function asContentError(error: unknown, uid: string, from: 'TCIA' | 'IDC' = 'TCIA'): unknown {
  if (error instanceof XtdError) return error;
  if ((error as { name?: string }).name === 'AbortError') return error;
  if (!isTransportError(error)) return error;
  const code = (error as { code?: string }).code;
  const message = (error as Error).message ?? String(error);
  if (code === 'ETIMEDOUT') return new SeriesContentError(`${from} download stalled: ${message}`, uid, { retryable: true, cause: error });
  return new SeriesContentError(`${from} download broke off: ${message}`, uid, { retryable: true, cause: error });
}
