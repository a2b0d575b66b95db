/**
 * Archive readers for DICOM-zip. The zip reader consumes the body as it streams in and hands each
 * entry over as soon as it is complete, like java.util.zip.ZipInputStream in DicomZipImporter, with
 * the same strictness (local-header checks, CRC and size checks).
 */
import type { Readable } from 'node:stream';
import { crc32, gunzipSync, inflateRawSync } from 'node:zlib';
import unzip, { type Entry } from 'unzip-stream';
import { HttpError } from './html.js';

/** Called for each complete file entry; a throw aborts the archive. */
export type EntrySink = (name: string, bytes: Buffer) => void;

interface LocalHeader {
  flags: number;
  compressionMethod: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
}

interface Descriptor {
  crc32: number;
  uncompressedSize: number;
}

/** The parts of unzip-stream's internal UnzipStream used here (0.3.x). */
interface UnzipInternals {
  parsedEntity: LocalHeader;
  on(event: 'entry', fn: (e: Entry) => void): void;
  _readDataDescriptor(data: Buffer, zip64: boolean): Descriptor;
}

/** unzip-stream errors that java.util.zip would meet as "no further entry", not as a failure. */
const END_OF_ENTRIES = /^(Not a valid zip file|Invalid signature in zip file)$/;

/** Reads a zip stream, calling `sink` per entry in order; rejects with an HttpError (400) or the stream error. */
export function readZipStream(source: Readable, sink: EntrySink): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const parser = unzip.Parse();
    const inner = (parser as unknown as { unzipStream: UnzipInternals }).unzipStream;
    const headers = new WeakMap<Entry, { local: LocalHeader; descriptor?: Descriptor }>();
    let current: { local: LocalHeader; descriptor?: Descriptor } | undefined;
    let failure: unknown;
    let sourceDone = false;
    let parserDone = false;
    let pending = 0;

    const finish = (): void => {
      if (!sourceDone) return;
      // A failure does not wait for entries still inflating (an entry cut off by an abort never ends).
      if (failure) reject(failure);
      else if (parserDone && pending === 0) resolve();
    };
    const fail = (err: unknown): void => {
      if (failure) return;
      failure = err;
      // Stop feeding the parser; swallow the rest of the body.
      source.unpipe(parser);
      source.resume();
      parserDone = true;
      finish();
    };

    // The local header is checked when read, before any data, as ZipInputStream.readLOC does.
    inner.on('entry', (entry) => {
      const local = { ...inner.parsedEntity };
      current = { local };
      headers.set(entry, current);
      if (failure) return;
      if (local.flags & 0x41) fail(new HttpError(400, 'encrypted ZIP entry not supported'));
      else if ((local.flags & 0x08) !== 0 && local.compressionMethod !== 8) {
        // java.util.zip.ZipInputStream.readLOC throws exactly this for STORED entries with a data descriptor.
        fail(new HttpError(400, 'only DEFLATED entries can have EXT descriptor'));
      } else if (local.compressionMethod !== 0 && local.compressionMethod !== 8) {
        fail(new HttpError(400, 'invalid compression method'));
      }
    });
    const readDescriptor = inner._readDataDescriptor.bind(inner);
    inner._readDataDescriptor = (data, zip64) => {
      const d = readDescriptor(data, zip64);
      if (current) current.descriptor = d;
      return d;
    };

    // Entries inflate concurrently, so one may finish before an earlier one; hand them over in zip order.
    const done: ({ entry: Entry; bytes: Buffer } | { error: unknown } | undefined)[] = [];
    let next = 0;
    const flush = (): void => {
      while (next < done.length && done[next] !== undefined) {
        const item = done[next] as { entry: Entry; bytes: Buffer } | { error: unknown };
        done[next++] = undefined;
        pending--;
        if (failure) continue;
        try {
          if ('error' in item) throw item.error;
          verifyEntry(item.bytes, headers.get(item.entry));
          sink(item.entry.path, item.bytes);
        } catch (err) {
          fail(err);
        }
      }
      finish();
    };
    parser.on('data', (entry: Entry) => {
      if (failure || entry.type === 'Directory') {
        entry.autodrain();
        return;
      }
      pending++;
      const slot = done.length;
      done.push(undefined);
      const chunks: Buffer[] = [];
      let settled = false;
      const settle = (item: { entry: Entry; bytes: Buffer } | { error: unknown }): void => {
        if (settled) return;
        settled = true;
        done[slot] = item;
        flush();
      };
      entry.on('data', (c: Buffer) => chunks.push(c));
      entry.on('error', (err: Error) => settle({ error: new HttpError(400, err.message) }));
      entry.on('end', () => settle({ entry, bytes: Buffer.concat(chunks) }));
    });
    parser.on('error', (err: Error) => {
      if (END_OF_ENTRIES.test(err.message)) {
        // ZipInputStream.getNextEntry returns null on a foreign signature: the entries end here.
        source.unpipe(parser);
        source.resume();
        parserDone = true;
        finish();
      } else if (/invalid state/.test(err.message)) fail(new HttpError(400, 'Unexpected end of ZLIB input stream'));
      else fail(new HttpError(400, err.message));
    });
    parser.on('end', () => {
      parserDone = true;
      finish();
    });
    parser.resume();

    let ended = false;
    source.on('end', () => {
      ended = true;
      sourceDone = true;
      finish();
    });
    const aborted = (): void => {
      if (ended || sourceDone) return;
      sourceDone = true;
      // Entries complete before the break are kept (docs/reference/xnat-rest.md#dicom-zip): those still inflating get a moment
      // to be handed over, as ZipInputStream would have read them off the socket; then the upload fails.
      setTimeout(() => fail(Object.assign(new Error('upload aborted'), { code: 'ECONNRESET' })), 50);
    };
    source.on('error', aborted);
    source.on('close', aborted);
    source.pipe(parser);
  });
}

function verifyEntry(bytes: Buffer, h: { local: LocalHeader; descriptor?: Descriptor } | undefined): void {
  if (!h) return;
  const expected = (h.local.flags & 0x08) !== 0 ? h.descriptor : { crc32: h.local.crc32, uncompressedSize: h.local.uncompressedSize };
  if (!expected) return;
  // ZipInputStream.readEnd checks size, then CRC.
  if (expected.uncompressedSize !== bytes.length && expected.uncompressedSize !== 0xffffffff) {
    throw new HttpError(400, `invalid entry size (expected ${expected.uncompressedSize} but got ${bytes.length} bytes)`);
  }
  const actual = crc32(bytes) >>> 0;
  if (actual !== expected.crc32 >>> 0) {
    throw new HttpError(400, `invalid entry CRC (expected 0x${(expected.crc32 >>> 0).toString(16)} but got 0x${actual.toString(16)})`);
  }
}

/** Reads a zip held in memory (a nested archive) through its central directory, with the same checks. */
export function readZipBuffer(buf: Buffer, sink: EntrySink): void {
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) {
    // ZipInputStream would read local headers until a foreign signature; without a directory, fall back to that.
    if (buf.length < 4 || buf.readUInt32LE(0) !== 0x04034b50) return;
    throw new HttpError(400, 'nested zip without central directory');
  }
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  for (let n = 0; n < count; n++) {
    if (buf.readUInt32LE(p) !== 0x02014b50) throw new HttpError(400, 'invalid CEN header (bad signature)');
    const cenCrc = buf.readUInt32LE(p + 16);
    const compressedSize = buf.readUInt32LE(p + 20);
    const cenSize = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const localOff = buf.readUInt32LE(p + 42);
    const name = buf.subarray(p + 46, p + 46 + nameLen).toString('utf8');
    p += 46 + nameLen + extraLen + commentLen;
    const local: LocalHeader = {
      flags: buf.readUInt16LE(localOff + 6),
      compressionMethod: buf.readUInt16LE(localOff + 8),
      crc32: buf.readUInt32LE(localOff + 14),
      compressedSize: buf.readUInt32LE(localOff + 18),
      uncompressedSize: buf.readUInt32LE(localOff + 22),
    };
    if (local.flags & 0x41) throw new HttpError(400, 'encrypted ZIP entry not supported');
    if ((local.flags & 0x08) !== 0 && local.compressionMethod !== 8) {
      throw new HttpError(400, 'only DEFLATED entries can have EXT descriptor');
    }
    if (local.compressionMethod !== 0 && local.compressionMethod !== 8) throw new HttpError(400, 'invalid compression method');
    const dataStart = localOff + 30 + buf.readUInt16LE(localOff + 26) + buf.readUInt16LE(localOff + 28);
    const data = buf.subarray(dataStart, dataStart + compressedSize);
    if (name.endsWith('/')) continue;
    let bytes: Buffer;
    try {
      bytes = local.compressionMethod === 8 ? inflateRawSync(data) : Buffer.from(data);
    } catch (err) {
      throw new HttpError(400, (err as Error).message);
    }
    // With a data descriptor the central directory carries the same CRC and size.
    const descriptor = (local.flags & 0x08) !== 0 ? { crc32: cenCrc, uncompressedSize: cenSize } : undefined;
    verifyEntry(bytes, { local, descriptor });
    sink(name, bytes);
  }
}

/** Reads a (possibly gzipped) ustar archive held in memory. */
export function readTarBuffer(raw: Buffer, gzipped: boolean, sink: EntrySink): void {
  let buf: Buffer;
  try {
    buf = gzipped ? gunzipSync(raw) : raw;
  } catch (err) {
    throw new HttpError(400, (err as Error).message);
  }
  let off = 0;
  let longName: string | undefined;
  while (off + 512 <= buf.length) {
    const block = buf.subarray(off, off + 512);
    if (block.every((b) => b === 0)) break;
    const field = (s: number, n: number): string => block.subarray(s, s + n).toString('utf8').replace(/\0.*$/s, '');
    const size = Number.parseInt(field(124, 12).trim() || '0', 8);
    const type = field(156, 1);
    const prefix = field(345, 155);
    const name = longName ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100));
    longName = undefined;
    const data = buf.subarray(off + 512, off + 512 + size);
    off += 512 + Math.ceil(size / 512) * 512;
    if (type === 'L') longName = data.toString('utf8').replace(/\0.*$/s, '');
    else if (type === '0' || type === '' || type === '7') sink(name, Buffer.from(data));
  }
}
