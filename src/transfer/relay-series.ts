import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { basename } from 'node:path';
import { PassThrough, Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import archiver from 'archiver';
import { Md5MismatchError, SeriesContentError, XtdError } from '../errors.js';
import { readDicomHeader, type DicomHeader } from './dicom-header.js';
import { parseMd5List } from './md5-list.js';
import { readZipEntries, type ZipEntry } from './zip-entries.js';

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

/** What the upload is started with when the first file's header cannot be read: labels then come from the plan. */
const UNREAD_HEADER: DicomHeader = { sopInstanceUid: '', seriesUid: '', studyUid: '', patientId: '', patientName: '', modality: '', studyDate: '' };

/** Starts the XNAT import with the outgoing zip as its body; called once, when the first DICOM file has been checked. */
export type StartUpload = (zip: Readable, first: DicomHeader, signal: AbortSignal) => Promise<string>;

/**
 * Files up to this size are held whole, so they go out as STORED entries with their sizes in the local header.
 * Larger ones are streamed as DEFLATE level 0 instead: java.util.zip.ZipInputStream, which XNAT's DICOM-zip
 * importer reads uploads with, rejects STORED entries that rely on a data descriptor ("only DEFLATED entries
 * can have EXT descriptor"), and a streamed entry's sizes are only known at its end.
 */
const WHOLE_FILE_LIMIT = 16 * 1024 * 1024;
/** Bytes allowed between the zip writer and the upload before the next file waits. */
const IN_FLIGHT = 4 * 1024 * 1024;

/** A pass-through that counts the bytes read from it, so a writer can wait for a slow reader. */
class ByteGauge extends Transform {
  passed = 0;
  private waiters: (() => void)[] = [];

  constructor() {
    super({ highWaterMark: 1024 * 1024 });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.passed += chunk.length;
    done(null, chunk);
    for (const wake of this.waiters.splice(0)) wake();
  }

  /** Resolves once at least `bytes` have passed (at once when that is already true). */
  async reached(bytes: number, signal: AbortSignal): Promise<void> {
    while (this.passed < bytes) {
      if (signal.aborted) throw signal.reason;
      await new Promise<void>((resolve) => {
        const onAbort = (): void => resolve();
        signal.addEventListener('abort', onAbort, { once: true });
        this.waiters.push(() => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        });
      });
    }
  }
}

export interface RelayHooks {
  /** DICOM bytes handed to the upload, counted once (progress). */
  onBytes?: (dicomBytes: number) => void;
  /** A verified file whose header could not be read; XNAT judges it. */
  onUnreadable?: (file: string) => void;
}

/**
 * Copies one series from TCIA's zip into the zip XNAT imports, with nothing staged on disk: each DICOM entry is
 * hashed and its header checked on the way through, LICENSE and md5hashes.csv are dropped, and the outgoing zip is
 * finished only after md5hashes.csv (the last entry) has confirmed every file. On any failure the upload is torn
 * down mid-body, so XNAT sees a broken request rather than a short but well-formed zip. `hooks` hear of bytes sent
 * and of each verified file whose header could not be read, which XNAT then judges.
 */
export async function relaySeries(download: Readable, expected: SeriesExpectation, startUpload: StartUpload, outer: AbortSignal, hooks: RelayHooks = {}): Promise<{ stats: RelayStats; uri: string }> {
  const onBytes = hooks.onBytes ?? ((): void => undefined);
  const controller = new AbortController();
  // Follows the run's signal without a listener on it, so any number of series can share that signal.
  const signal = AbortSignal.any([controller.signal, outer]);

  const archive = archiver('zip', { zlib: { level: 0 }, highWaterMark: 1024 * 1024 });
  // Errors on the outgoing zip reach us through the upload; without an upload there is nobody else to tell.
  archive.on('error', () => undefined);
  // What the upload has actually taken; archiver itself accepts whole-buffer entries without backpressure.
  const body = new ByteGauge();
  body.on('error', () => undefined);
  pipeline(archive, body).catch(() => undefined);
  let appended = 0;
  /** The first thing that went wrong; later errors (aborts, premature closes) are its consequences. */
  let firstError: unknown;
  const remember = (error: unknown): unknown => (firstError ??= error);
  const actual = new Map<string, string>();
  let published: Map<string, string> | undefined;
  let upload: Promise<string> | undefined;
  const stats: RelayStats = { files: 0, bytes: 0, md5Verified: 0 };
  const uid = expected.seriesUid;

  const ensureUpload = (header: DicomHeader): void => {
    if (upload) return;
    upload = startUpload(body, header, signal);
    upload.catch((error: unknown) => {
      if (!suspect) controller.abort(remember(error));
    });
  };

  /** Appends one entry and waits until archiver has written it out, so at most one file is in flight. */
  const append = async (source: Buffer | PassThrough, name: string, whole: boolean, feed?: () => Promise<void>): Promise<void> => {
    if (Buffer.isBuffer(source)) {
      // Keep at most IN_FLIGHT bytes between what was handed to archiver and what XNAT has taken.
      await body.reached(appended - IN_FLIGHT, signal);
      appended += source.length;
    }
    const written = once(archive, 'entry', { signal });
    // Explicit either way: at zlib level 0 zip-stream would default every entry to STORED.
    archive.append(source, { name, store: whole });
    if (feed) await feed();
    await written;
    if (Buffer.isBuffer(source)) onBytes(source.length);
  };

  /**
   * A header that names another series or study is only a suspicion until md5hashes.csv confirms the file: a
   * byte damaged in transit must be retried, not reported (docs/reference/dicom.md#verdicts). The upload is
   * broken off at once; the rest of the zip is still read and hashed so the verdict can wait for the list.
   * A file whose header cannot be read at all goes to XNAT, which decides, with a warning once it is verified.
   */
  let suspect: { name: string; error: SeriesContentError } | undefined;
  /** See releaseHeld. */
  let held: { bytes: Buffer; name: string } | undefined;
  const unreadable: string[] = [];
  const check = (name: string, bytes: Buffer): boolean => {
    const header = readDicomHeader(bytes);
    let wrong: string | undefined;
    if (header && header.seriesUid !== uid) wrong = `${name} belongs to series ${header.seriesUid}, not ${uid}`;
    else if (header && expected.studyUid && header.studyUid !== expected.studyUid) wrong = `${name} belongs to study ${header.studyUid}, not ${expected.studyUid}`;
    if (wrong !== undefined) {
      suspect ??= { name, error: new SeriesContentError(wrong, uid) };
      breakOffUpload(suspect.error);
    }
    if (suspect) return false;
    if (!header) unreadable.push(name);
    ensureUpload(header ?? UNREAD_HEADER);
    return true;
  };

  /** Tears the outgoing zip down without stopping the download, which still has to be verified. */
  const breakOffUpload = (cause: Error): void => {
    held = undefined;
    archive.destroy(cause);
    body.destroy(cause);
  };

  /**
   * The newest whole file is held back until the next one arrives, and the last one until md5hashes.csv has
   * confirmed them all. So a series that fails verification never reaches XNAT complete: a prearchive scan
   * holding every file of its series proves the tool verified that series, which is what lets a later run
   * commit what an interrupted run left behind.
   */
  const releaseHeld = async (): Promise<void> => {
    if (!held) return;
    const { bytes, name } = held;
    held = undefined;
    await append(bytes, name, true);
  };

  const relayDicom = async (entry: Readable, name: string): Promise<void> => {
    const hash = createHash('md5');
    const chunks = entry[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    const parts: Buffer[] = [];
    let size = 0;
    let complete = false;
    while (size <= WHOLE_FILE_LIMIT) {
      const next = await chunks.next();
      if (next.done) {
        complete = true;
        break;
      }
      hash.update(next.value);
      parts.push(next.value);
      size += next.value.length;
    }
    const head = Buffer.concat(parts);
    parts.length = 0;
    if (!check(name, head)) {
      // Only hashed from here on: the upload is gone and the verdict waits for md5hashes.csv.
      for (let next = await chunks.next(); !next.done; next = await chunks.next()) {
        hash.update(next.value);
        size += next.value.length;
      }
    } else if (complete) {
      await releaseHeld();
      held = { bytes: head, name };
    } else {
      await releaseHeld();
      const pass = new PassThrough({ highWaterMark: 1024 * 1024 });
      const write = async (data: Buffer): Promise<void> => {
        if (!pass.write(data)) await once(pass, 'drain', { signal });
        onBytes(data.length);
      };
      await append(pass, name, false, async () => {
        await write(head);
        for (let next = await chunks.next(); !next.done; next = await chunks.next()) {
          hash.update(next.value);
          size += next.value.length;
          await write(next.value);
        }
        pass.end();
      });
    }
    actual.set(name, hash.digest('hex'));
    stats.files += 1;
    stats.bytes += size;
  };

  const consume = async (entries: AsyncIterable<unknown>): Promise<void> => {
    try {
      await consumeEntries(entries);
    } catch (error) {
      throw remember(error);
    }
  };

  const consumeEntries = async (entries: AsyncIterable<unknown>): Promise<void> => {
    for await (const item of entries) {
      const entry = item as ZipEntry;
      const name = basename(entry.path);
      if (entry.type === 'Directory' || name === 'LICENSE') {
        entry.autodrain();
      } else if (name === 'md5hashes.csv') {
        const chunks: Buffer[] = [];
        for await (const chunk of entry) chunks.push(chunk as Buffer);
        published = await parseMd5List(Buffer.concat(chunks).toString('utf8'));
      } else {
        await relayDicom(entry, name);
      }
    }
  };

  try {
    try {
      await consume(readZipEntries(download, signal));
    } catch (error) {
      throw asContentError(firstError ?? error, uid);
    }
    verify(uid, expected, actual, published, stats);
    if (suspect) throw suspect.error;
    // Told before XNAT answers: its verdict on the file may well be the reason the series fails.
    for (const file of unreadable) hooks.onUnreadable?.(file);
    if (!upload) throw new SeriesContentError('the TCIA zip holds no DICOM files', uid, { retryable: true });
    await releaseHeld();
    archive.finalize().catch((error: unknown) => controller.abort(error));
    const uri = await upload;
    return { stats, uri };
  } catch (error) {
    const cause = firstError !== undefined && !(error instanceof XtdError) ? asContentError(firstError, uid) : error;
    controller.abort(cause);
    // Destroying (not ending) the body makes XNAT see a broken upload instead of a complete-looking zip.
    archive.destroy(isError(cause) ? cause : new Error(String(cause)));
    body.destroy(isError(cause) ? cause : new Error(String(cause)));
    download.destroy();
    if (upload) await upload.catch(() => undefined);
    throw cause;
  }
}

/** instanceof fails across realms (Node's own AbortError in a test VM), so look at the shape. */
function isError(value: unknown): value is Error {
  return typeof value === 'object' && value !== null && 'message' in value;
}

function verify(uid: string, expected: SeriesExpectation, actual: Map<string, string>, published: Map<string, string> | undefined, stats: RelayStats): void {
  if (!published) throw new SeriesContentError('the TCIA zip has no md5hashes.csv, so the files cannot be verified', uid, { retryable: true });
  for (const [name, hash] of actual) {
    const want = published.get(name);
    if (want === undefined) throw new SeriesContentError(`${name} is not listed in md5hashes.csv`, uid, { retryable: true });
    if (want !== hash) throw new Md5MismatchError(name, want, hash, uid);
    stats.md5Verified += 1;
  }
  const missing = [...published.keys()].filter((name) => !actual.has(name));
  if (missing.length > 0) throw new SeriesContentError(`${missing.length} file(s) listed in md5hashes.csv are missing from the zip (first: ${missing[0]})`, uid, { retryable: true });
  if (expected.imageCount > 0 && actual.size !== expected.imageCount) {
    throw new SeriesContentError(`TCIA lists ${expected.imageCount} images but the zip holds ${actual.size}`, uid, { retryable: true });
  }
}

/** A broken or cut-off zip is a transient download fault; our own errors pass through. */
function asContentError(error: unknown, uid: string): unknown {
  if (error instanceof XtdError) return error;
  if ((error as { name?: string }).name === 'AbortError') return error;
  const code = (error as { code?: string }).code;
  const message = (error as Error).message ?? String(error);
  if (code === 'ETIMEDOUT') return new SeriesContentError(`TCIA download stalled: ${message}`, uid, { retryable: true, cause: error });
  return new SeriesContentError(`TCIA download broke off: ${message}`, uid, { retryable: true, cause: error });
}

