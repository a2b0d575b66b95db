/**
 * PROTOTYPE (issue 10), not wired into the tool: the relay rebuilt from zip-entry-reader and zip-writer, measured by
 * `npm run bench` beside relay-series.ts. TCIA's DEFLATE bytes go to XNAT as they arrived; a side copy is inflated
 * only to check the entry's CRC-32 and sizes (from TCIA's data descriptor), its MD5 (from md5hashes.csv) and its DICOM
 * header. Same contract as relaySeries: nothing staged on disk, the newest whole file held back until the next one
 * arrives and the last until md5hashes.csv has confirmed every file, the upload torn down on any failure.
 */
import { createHash, type Hash } from 'node:crypto';
import { once } from 'node:events';
import { basename } from 'node:path';
import type { Readable } from 'node:stream';
import { crc32, createInflateRaw, inflateRawSync, type InflateRaw } from 'node:zlib';
import { AbortedError, SeriesContentError, XtdError } from '../../errors.js';
import { parseMd5List } from '../../sources/nbia/md5-list.js';
import { md5CheckList } from '../../sources/nbia/zip-series.js';
import { readDicomHeader, type DicomHeader } from '../dicom-header.js';
import type { StartUpload } from '../relay-series.js';
import { asContentError, compareWithList, type FileDigest, type RelayStats, type SeriesExpectation } from '../verification.js';
import { readZipEvents, type EntryEnd, type LocalEntry, type ZipEvent } from './zip-entry-reader.js';
import { ZipWriter } from './zip-writer.js';

/** Entries up to this many compressed bytes are held whole; larger ones are streamed through. */
const WHOLE_ENTRY_LIMIT = 16 * 1024 * 1024;

export interface PassThroughOptions {
  /** Default WHOLE_ENTRY_LIMIT; tests lower it to reach the streamed path with small files. */
  wholeEntryLimit?: number;
}
/** Enough of a streamed entry's start to hold its DICOM header (dicom-header.ts reads at most this much first). */
const HEAD_BYTES = 1024 * 1024;

interface Held {
  name: string;
  method: number;
  raw: Buffer[];
  end: EntryEnd;
  data: Buffer;
}

/** The inflated side copy of one entry: checked against the entry's descriptor, hashed, kept only as far as needed. */
class SideCopy {
  private readonly hash: Hash = createHash('md5');
  private crc = 0;
  size = 0;
  head: Buffer[] = [];
  private headSize = 0;

  add(data: Buffer): void {
    this.hash.update(data);
    this.crc = crc32(data, this.crc);
    this.size += data.length;
    if (this.headSize < HEAD_BYTES) {
      this.head.push(data);
      this.headSize += data.length;
    }
  }

  /** The MD5, once the CRC-32 and size match what the zip says. */
  finish(name: string, end: EntryEnd, uid: string): string {
    if (this.size !== end.size || this.crc >>> 0 !== end.crc >>> 0) {
      throw new SeriesContentError(`${name}: CRC-32 or size does not match the zip's record of it`, uid, { retryable: true });
    }
    return this.hash.digest('hex');
  }
}

export async function relaySeriesPassThrough(
  download: Readable,
  expected: SeriesExpectation,
  startUpload: StartUpload,
  outer: AbortSignal,
  options: PassThroughOptions = {},
): Promise<{ stats: RelayStats; uri: string }> {
  const wholeEntryLimit = options.wholeEntryLimit ?? WHOLE_ENTRY_LIMIT;
  const controller = new AbortController();
  const signal = controller.signal;
  const onOuterAbort = (): void => controller.abort(new AbortedError());
  outer.addEventListener('abort', onOuterAbort, { once: true });
  const uid = expected.seriesUid;
  const writer = new ZipWriter();
  // A failure before the upload starts destroys an output nobody reads; the upload hears of errors on its own.
  writer.output.on('error', () => undefined);
  const actual = new Map<string, FileDigest>();
  const stats: RelayStats = { files: 0, bytes: 0, md5Verified: 0 };
  let published: Map<string, string> | undefined;
  let upload: Promise<string> | undefined;
  let firstError: unknown;
  let held: Held | undefined;

  const check = (name: string, head: Buffer): void => {
    const header = readDicomHeader(head);
    if (!header) throw new SeriesContentError(`${name} in the TCIA zip is not a DICOM file`, uid);
    if (header.seriesUid !== uid) throw new SeriesContentError(`${name} belongs to series ${header.seriesUid}, not ${uid}`, uid);
    if (expected.studyUid && header.studyUid !== expected.studyUid) throw new SeriesContentError(`${name} belongs to study ${header.studyUid}, not ${expected.studyUid}`, uid);
    startOnce(header);
  };
  const startOnce = (header: DicomHeader): void => {
    if (upload) return;
    upload = startUpload(writer.output, header, signal);
    upload.catch((error: unknown) => controller.abort((firstError ??= error)));
  };
  const releaseHeld = async (): Promise<void> => {
    if (!held) return;
    const { name, method, raw, end, data } = held;
    held = undefined;
    if (method === 8) await writer.addDeflated(name, raw, end);
    else await writer.addStored(name, data, end.crc);
  };
  const counted = (name: string, md5: string, size: number): void => {
    actual.set(name, { md5, size });
    stats.files += 1;
    stats.bytes += size;
  };

  /** Inflates a whole entry in one call into one buffer sized from its descriptor; checks the DEFLATE stream ends exactly there. */
  const inflateWhole = (entry: LocalEntry, raw: Buffer[], end: EntryEnd): Buffer => {
    const compressed = raw.length === 1 ? (raw[0] as Buffer) : Buffer.concat(raw);
    if (entry.method === 0) return compressed;
    if (entry.method !== 8) throw new SeriesContentError(`${entry.name}: zip compression method ${entry.method} is not supported`, uid);
    const { buffer, engine } = inflateRawSync(compressed, { chunkSize: Math.max(64 * 1024, end.size + 1), info: true }) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
    if (engine.bytesWritten !== compressed.length) throw new SeriesContentError(`${entry.name}: data after the end of its DEFLATE stream`, uid, { retryable: true });
    return buffer;
  };

  /** An entry too large to hold: inflate as it streams, copy its raw bytes straight into the outgoing zip. */
  const streamEntry = async (entry: LocalEntry, name: string, raw: Buffer[], events: AsyncGenerator<ZipEvent>): Promise<void> => {
    if (entry.method !== 8) throw new SeriesContentError(`${name}: a STORED entry over ${wholeEntryLimit} bytes is not supported by this prototype`, uid);
    const side = new SideCopy();
    const inflater: InflateRaw = createInflateRaw({ chunkSize: 256 * 1024 });
    inflater.on('data', (data: Buffer) => side.add(data));
    const feed = async (chunk: Buffer): Promise<void> => {
      if (!inflater.write(chunk)) await once(inflater, 'drain', { signal });
    };
    for (const chunk of raw) await feed(chunk);
    await new Promise<void>((resolve) => inflater.flush(resolve));
    check(name, Buffer.concat(side.head));
    side.head = [];
    await releaseHeld();
    const out = await writer.beginDeflated(name);
    for (const chunk of raw) await out.write(chunk);
    for (let next = await events.next(); !next.done; next = await events.next()) {
      const event = next.value;
      if (event.kind === 'data') {
        await feed(event.chunk);
        await out.write(event.chunk);
      } else if (event.kind === 'end') {
        const ended = once(inflater, 'end', { signal });
        inflater.end();
        await ended;
        if (inflater.bytesWritten !== event.end.compressedSize) throw new SeriesContentError(`${name}: data after the end of its DEFLATE stream`, uid, { retryable: true });
        counted(name, side.finish(name, event.end, uid), side.size);
        await out.end(event.end);
        return;
      }
    }
  };

  const consume = async (): Promise<void> => {
    const events = readZipEvents(download);
    let entry: LocalEntry | undefined;
    let raw: Buffer[] = [];
    let rawSize = 0;
    for (let next = await events.next(); !next.done; next = await events.next()) {
      const event = next.value;
      if (event.kind === 'entry') [entry, raw, rawSize] = [event.entry, [], 0];
      else if (event.kind === 'data') {
        raw.push(event.chunk);
        rawSize += event.chunk.length;
        if (entry && rawSize > wholeEntryLimit) {
          await streamEntry(entry, basename(entry.name), raw, events);
          entry = undefined;
          raw = [];
        }
      } else if (entry) {
        const name = basename(entry.name);
        if (entry.name.endsWith('/') || name === 'LICENSE') continue;
        const data = inflateWhole(entry, raw, event.end);
        const side = new SideCopy();
        side.add(data);
        const md5 = side.finish(name, event.end, uid);
        if (name === 'md5hashes.csv') {
          published = await parseMd5List(data.toString('utf8'));
          continue;
        }
        check(name, data);
        await releaseHeld();
        held = { name, method: entry.method, raw, end: event.end, data: entry.method === 0 ? data : EMPTY };
        counted(name, md5, data.length);
      }
    }
  };

  try {
    try {
      // A failed upload aborts the signal while the reader may be waiting on TCIA; the race stops waiting for it.
      const consuming = consume();
      consuming.catch(() => undefined);
      await Promise.race([consuming, once(signal, 'abort').then(() => Promise.reject(signal.reason))]);
    } catch (error) {
      throw asContentError(firstError ?? error, uid);
    }
    compareWithList(expected, actual, md5CheckList(published, uid), stats);
    if (!upload) throw new SeriesContentError('the TCIA zip holds no DICOM files', uid, { retryable: true });
    await releaseHeld();
    await writer.finish();
    return { stats, uri: await upload };
  } catch (error) {
    const cause = firstError !== undefined && !(error instanceof XtdError) ? asContentError(firstError, uid) : error;
    controller.abort(cause);
    writer.destroy(cause instanceof Error ? cause : new Error(String(cause)));
    download.destroy();
    if (upload) await upload.catch(() => undefined);
    throw cause;
  } finally {
    outer.removeEventListener('abort', onOuterAbort);
  }
}

const EMPTY = Buffer.alloc(0);
