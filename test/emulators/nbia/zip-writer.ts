// A streaming ZIP encoder shaped like java.util.zip.ZipOutputStream output, which is what NBIA's getImage sends.
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';

/** One file to put in the archive; its bytes are compressed only when the consumer asks for them. */
export interface ZipSource {
  name: string;
  data: Buffer;
}

const deflateRaw = promisify(zlib.deflateRaw);

const LOCAL_HEADER_SIG = 0x04034b50;
const DATA_DESCRIPTOR_SIG = 0x08074b50;
const CENTRAL_HEADER_SIG = 0x02014b50;
const END_OF_CENTRAL_DIR_SIG = 0x06054b50;
// ZipOutputStream streams DEFLATE entries, so sizes and CRC follow the data (bit 3); with its default UTF-8
// charset it also sets the language-encoding bit 11 on every entry.
const FLAGS = 0x0008 | 0x0800;
const METHOD_DEFLATE = 8;
const VERSION_DEFLATE = 20;
// A fixed timestamp (2024-01-01 00:00) keeps the archive byte-identical across runs.
const DOS_DATE = ((2024 - 1980) << 9) | (1 << 5) | 1;
const DOS_TIME = 0;

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (zip polynomial); zlib.crc32 only exists from Node 20.15 while the project allows 20.11. */
export function crc32(data: Buffer): number {
  const native = (zlib as { crc32?: (d: Buffer) => number }).crc32;
  if (native) return native(data) >>> 0;
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = (CRC_TABLE[(c ^ (data[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function localHeader(name: Buffer): Buffer {
  const b = Buffer.alloc(30);
  b.writeUInt32LE(LOCAL_HEADER_SIG, 0);
  b.writeUInt16LE(VERSION_DEFLATE, 4);
  b.writeUInt16LE(FLAGS, 6);
  b.writeUInt16LE(METHOD_DEFLATE, 8);
  b.writeUInt16LE(DOS_TIME, 10);
  b.writeUInt16LE(DOS_DATE, 12);
  // CRC and both sizes stay 0 here: they arrive in the data descriptor after the data.
  b.writeUInt16LE(name.length, 26);
  return Buffer.concat([b, name]);
}

function dataDescriptor(crc: number, compressed: number, size: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt32LE(DATA_DESCRIPTOR_SIG, 0);
  b.writeUInt32LE(crc, 4);
  b.writeUInt32LE(compressed, 8);
  b.writeUInt32LE(size, 12);
  return b;
}

function centralHeader(name: Buffer, crc: number, compressed: number, size: number, offset: number): Buffer {
  const b = Buffer.alloc(46);
  b.writeUInt32LE(CENTRAL_HEADER_SIG, 0);
  b.writeUInt16LE(VERSION_DEFLATE, 4);
  b.writeUInt16LE(VERSION_DEFLATE, 6);
  b.writeUInt16LE(FLAGS, 8);
  b.writeUInt16LE(METHOD_DEFLATE, 10);
  b.writeUInt16LE(DOS_TIME, 12);
  b.writeUInt16LE(DOS_DATE, 14);
  b.writeUInt32LE(crc, 16);
  b.writeUInt32LE(compressed, 20);
  b.writeUInt32LE(size, 24);
  b.writeUInt16LE(name.length, 28);
  b.writeUInt32LE(offset, 42);
  return Buffer.concat([b, name]);
}

function endOfCentralDirectory(entries: number, size: number, offset: number): Buffer {
  const b = Buffer.alloc(22);
  b.writeUInt32LE(END_OF_CENTRAL_DIR_SIG, 0);
  b.writeUInt16LE(entries, 8);
  b.writeUInt16LE(entries, 10);
  b.writeUInt32LE(size, 12);
  b.writeUInt32LE(offset, 16);
  return b;
}

/**
 * Encodes entries as a ZIP, yielding header, compressed data and descriptor per entry, then the central directory.
 * Pulls the next entry only when the previous one has been consumed, so memory stays at one entry.
 */
export async function* zipStream(
  entries: AsyncIterable<ZipSource> | Iterable<ZipSource>,
  level = 1,
): AsyncGenerator<Buffer, void, undefined> {
  const central: Buffer[] = [];
  let offset = 0;
  for await (const entry of entries) {
    const name = Buffer.from(entry.name, 'utf8');
    const header = localHeader(name);
    const compressed = await deflateRaw(entry.data, { level });
    const crc = crc32(entry.data);
    const descriptor = dataDescriptor(crc, compressed.length, entry.data.length);
    central.push(centralHeader(name, crc, compressed.length, entry.data.length, offset));
    offset += header.length + compressed.length + descriptor.length;
    // Series are far below the ZIP64 limits (a 1000-slice CT is ~500 MB); fail loudly rather than write a bad archive.
    if (offset > 0xffffffff || central.length > 0xffff) throw new RangeError('Archive needs ZIP64, which this emulator does not write');
    yield header;
    yield compressed;
    yield descriptor;
  }
  const directory = Buffer.concat(central);
  yield directory;
  yield endOfCentralDirectory(central.length, directory.length, offset);
}
