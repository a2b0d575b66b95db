// The getImage body: a zip streamed entry by entry, as NBIA's java.util.zip.ZipOutputStream writes it.
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { crc32, deflateRawSync } from 'node:zlib';
import archiver from 'archiver';

/** One file to put in the archive. */
export interface ZipSource {
  name: string;
  data: Buffer;
}

/** A fixed timestamp keeps the archive byte-identical across requests. */
const ENTRY_DATE = new Date(2024, 0, 1, 0, 0, 0);

/**
 * How the descriptor after each entry is written: 'signed' (0x08074b50 first) is what NBIA's ZipOutputStream
 * writes; 'unsigned' leaves the optional signature out, as other servers' writers may (docs/reference/zip.md#data-descriptor).
 */
export type DescriptorShape = 'signed' | 'unsigned';

/**
 * Streams `entries` as a zip with DEFLATE entries whose sizes and CRC follow the data in a descriptor (bit 3),
 * the shape ZipOutputStream gives NBIA's getImage (docs/reference/nbia.md#getimage); archiver writes stream sources that
 * way. The next entry is taken from the iterator only once the previous one is written out, so a slow reader
 * holds generation back instead of letting it pile up.
 */
export function zipStream(entries: Iterable<ZipSource>, level = 1, descriptors: DescriptorShape = 'signed'): Readable {
  if (descriptors === 'unsigned') return Readable.from(unsignedDescriptorZip(entries, { level }));
  const archive = archiver('zip', { zlib: { level } });
  const stop = new AbortController();
  archive.once('close', () => stop.abort());
  void (async () => {
    for (const entry of entries) {
      const written = once(archive, 'entry', { signal: stop.signal });
      // store: false even at level 0, where zip-stream would otherwise pick STORED, which Java never streams.
      archive.append(Readable.from([entry.data]), { name: entry.name, date: ENTRY_DATE, store: false });
      await written;
    }
    await archive.finalize();
  })().catch((error: unknown) => {
    if (!stop.signal.aborted) archive.destroy(error as Error);
  });
  return archive;
}

/** DOS date of ENTRY_DATE (time 00:00:00 is 0). */
const DOS_DATE = ((2024 - 1980) << 9) | (1 << 5) | 1;
const MAX32 = 0xffffffff;

/** The ZIP64 extra field with the uncompressed and compressed size, and the header's offset when given. */
function zip64Extra(size: number, compressedSize: number, offset?: number): Buffer {
  const extra = Buffer.alloc(offset === undefined ? 20 : 28);
  extra.writeUInt16LE(0x0001, 0);
  extra.writeUInt16LE(extra.length - 4, 2);
  extra.writeBigUInt64LE(BigInt(size), 4);
  extra.writeBigUInt64LE(BigInt(compressedSize), 12);
  if (offset !== undefined) extra.writeBigUInt64LE(BigInt(offset), 20);
  return extra;
}

/** Options of unsignedDescriptorZip: zip level; ZIP64, which makes the descriptor's sizes 8 bytes; STORED entries. */
export interface UnsignedZipOptions {
  level?: number;
  zip64?: boolean;
  /** STORED entries with bit 3, which Java refuses but other readers take (docs/reference/zip.md#java-reader). */
  stored?: boolean;
}

/**
 * A zip whose entries have bit 3 and descriptors without their signature, written per APPNOTE 4.3.7-4.3.9 and
 * 4.3.12-4.3.16, since archiver always signs them. One entry is compressed at a time, as the stream is read.
 */
export async function* unsignedDescriptorZip(entries: Iterable<ZipSource>, options: UnsignedZipOptions = {}): AsyncGenerator<Buffer> {
  const { level = 1, zip64 = false, stored = false } = options;
  const method = stored ? 0 : 8;
  const central: Buffer[] = [];
  let offset = 0;
  for (const { name, data } of entries) {
    const nameBytes = Buffer.from(name, 'utf8');
    const compressed = stored ? data : deflateRawSync(data, { level });
    const crc = crc32(data);
    // Sizes marked 0xFFFFFFFF with a ZIP64 extra field tell a reader that the descriptor's sizes are 8 bytes each.
    const extra = zip64 ? zip64Extra(0, 0) : Buffer.alloc(0);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(zip64 ? 45 : 20, 4);
    local.writeUInt16LE(0x0808, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(DOS_DATE, 12);
    if (zip64) {
      local.writeUInt32LE(MAX32, 18);
      local.writeUInt32LE(MAX32, 22);
    }
    local.writeUInt16LE(nameBytes.length, 26);
    local.writeUInt16LE(extra.length, 28);
    const descriptor = Buffer.alloc(zip64 ? 20 : 12);
    descriptor.writeUInt32LE(crc, 0);
    if (zip64) {
      descriptor.writeBigUInt64LE(BigInt(compressed.length), 4);
      descriptor.writeBigUInt64LE(BigInt(data.length), 12);
    } else {
      descriptor.writeUInt32LE(compressed.length, 4);
      descriptor.writeUInt32LE(data.length, 8);
    }
    const entry = Buffer.concat([local, nameBytes, extra, compressed, descriptor]);
    const header = Buffer.alloc(46);
    header.writeUInt32LE(0x02014b50, 0);
    header.writeUInt16LE(zip64 ? 45 : 20, 4);
    header.writeUInt16LE(zip64 ? 45 : 20, 6);
    header.writeUInt16LE(0x0808, 8);
    header.writeUInt16LE(method, 10);
    header.writeUInt16LE(DOS_DATE, 14);
    header.writeUInt32LE(crc, 16);
    header.writeUInt32LE(zip64 ? MAX32 : compressed.length, 20);
    header.writeUInt32LE(zip64 ? MAX32 : data.length, 24);
    header.writeUInt16LE(nameBytes.length, 28);
    const centralExtra = zip64 ? zip64Extra(data.length, compressed.length, offset) : Buffer.alloc(0);
    header.writeUInt16LE(centralExtra.length, 30);
    header.writeUInt32LE(zip64 ? MAX32 : offset, 42);
    central.push(header, nameBytes, centralExtra);
    offset += entry.length;
    yield entry;
  }
  const directory = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(central.length / 3, 8);
  end.writeUInt16LE(central.length / 3, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  yield Buffer.concat([directory, end]);
}

/** Java's BufferedOutputStream default size. */
export const JAVA_BUFFER = 8192;

/**
 * NBIA's getImage wraps its ZipOutputStream in a BufferedOutputStream of Java's default 8,192 bytes, and the deflater
 * hands that buffer far smaller pieces, so the body leaves the servlet in writes of exactly 8,192 bytes, the last one
 * shorter (docs/reference/nbia.md#getimage). The emulator's clients see the same write sizes.
 */
export async function* javaBuffered(source: AsyncIterable<Buffer>, size = JAVA_BUFFER): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let length = 0;
  for await (const chunk of source) {
    pending.push(chunk);
    length += chunk.length;
    if (length < size) continue;
    const joined = Buffer.concat(pending, length);
    let at = 0;
    for (; at + size <= joined.length; at += size) yield joined.subarray(at, at + size);
    pending = at < joined.length ? [joined.subarray(at)] : [];
    length = joined.length - at;
  }
  if (length > 0) yield Buffer.concat(pending, length);
}
