import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { crc32 } from './crc32.js';

/**
 * A streaming zip writer that copies DEFLATE data through as it arrived instead of compressing again. No maintained
 * zip library writes entries from already-compressed bytes with the CRC and sizes of someone else's data descriptor
 * (docs/reference/zip.md#writers), so this one is ours; test/jdk proves that java.util.zip.ZipInputStream, which
 * XNAT's DICOM-zip importer reads uploads with, reads every kind of entry it writes.
 *
 * Entry kinds, each one Java's streaming reader accepts (docs/reference/zip.md#java-reader):
 * - STORED with CRC and sizes in the local header (Java refuses STORED entries that defer them to a descriptor);
 * - DEFLATED with CRC and sizes in the local header, for an entry held whole;
 * - DEFLATED with a data descriptor, for an entry streamed before its CRC is known.
 * Sizes or offsets past 4 GiB get ZIP64 fields; descriptors get 8-byte sizes exactly when Java reads them so.
 */

/** CRC-32 and length of an entry's uncompressed bytes. */
export interface EntrySums {
  crc: number;
  size: number;
}

interface Written {
  name: Buffer;
  method: number;
  flags: number;
  crc: number;
  compressedSize: number;
  size: number;
  offset: number;
}

const MAX32 = 0xffffffff;
const STORED = 0;
const DEFLATED = 8;
const UTF8_NAMES = 0x0800;
const DESCRIPTOR = 0x0008;
const ZIP64_VERSION = 45;
const BASE_VERSION = 20;

/** MS-DOS time and date words; entries carry the time the writer was made. */
function dosDateTime(date: Date): [time: number, date: number] {
  const year = Math.max(1980, date.getFullYear());
  return [(date.getHours() << 11) | (date.getMinutes() << 5) | (date.getSeconds() >> 1), ((year - 1980) << 9) | ((date.getMonth() + 1) << 5) | date.getDate()];
}

/** The ZIP64 extended-information extra field with the given 8-byte values (which ones depends on the record). */
function zip64Extra(values: number[]): Buffer {
  const extra = Buffer.alloc(4 + 8 * values.length);
  extra.writeUInt16LE(0x0001, 0);
  extra.writeUInt16LE(8 * values.length, 2);
  values.forEach((v, i) => extra.writeBigUInt64LE(BigInt(v), 4 + 8 * i));
  return extra;
}

/**
 * Bytes gathered before they go to the output as one chunk. The upload writes each chunk to its socket on its own
 * and waits for it, so TCIA's download chunks passed on one by one (about 30 KB each) made ten socket writes per
 * CT file; 256 KB makes about one (docs/benchmarks.md).
 */
const BLOCK_BYTES = 256 * 1024;

export class ZipWriter {
  /** The zip, to be read by the upload. */
  readonly output: PassThrough;
  private offset = 0;
  /** Bytes not yet handed to the output: a block builds up until it is full or the zip ends. */
  private block: Buffer[] = [];
  private blockSize = 0;
  /** Chunks of whole entries in the block, given back once the block has copied them. */
  private handed: Buffer[] = [];
  private readonly giveBack: ((chunk: Buffer) => void) | undefined;
  private readonly entries: Written[] = [];
  private readonly time: number;
  private readonly date: number;
  private open = false;
  private readonly signal: AbortSignal | undefined;

  /**
   * `signal` stops a write that waits for the reader (the upload) to take more. `giveBack` gets each data chunk of a
   * whole entry (addStored, addDeflated) once it has been copied into a block: such an entry comes checked, so
   * nothing needs those bytes any more. Chunks of streamed entries may still be in use elsewhere and are not given.
   */
  constructor(options: { highWaterMark?: number; date?: Date; signal?: AbortSignal; giveBack?: (chunk: Buffer) => void } = {}) {
    this.output = new PassThrough({ highWaterMark: options.highWaterMark ?? 1024 * 1024 });
    [this.time, this.date] = dosDateTime(options.date ?? new Date());
    this.signal = options.signal;
    this.giveBack = options.giveBack;
  }

  /** Bytes written so far. */
  get bytes(): number {
    return this.offset;
  }

  /** A STORED entry, whole or in the chunks it came in; its CRC is computed (crc32.ts) unless given. */
  async addStored(name: string, data: Buffer | readonly Buffer[], crc?: number): Promise<void> {
    const parts = Buffer.isBuffer(data) ? [data] : data;
    const size = parts.reduce((n, part) => n + part.length, 0);
    const entry = this.beginEntry(name, STORED, 0, { crc: crc ?? parts.reduce((c, part) => crc32(part, c), 0), size }, size);
    await this.push(this.localHeader(entry));
    for (const part of parts) await this.push(part, true);
    this.offset += size;
  }

  /**
   * A STORED entry streamed in pieces; its CRC and size must be known up front, because Java refuses STORED entries
   * that defer them to a data descriptor. `end` fails if the bytes written were not `sums.size`.
   */
  async beginStored(name: string, sums: EntrySums): Promise<{ write(chunk: Buffer): Promise<void>; end(): Promise<void> }> {
    const entry = this.beginEntry(name, STORED, 0, sums, sums.size);
    this.open = true;
    await this.push(this.localHeader(entry));
    const start = this.offset;
    return {
      write: async (chunk) => {
        this.offset += chunk.length;
        await this.push(chunk);
      },
      end: async () => {
        this.open = false;
        if (this.offset - start !== sums.size) throw new Error(`zip writer: ${name} got ${this.offset - start} bytes, not ${sums.size}`);
      },
    };
  }

  /** A DEFLATED entry whose compressed bytes are all at hand: CRC and sizes go in the local header. */
  async addDeflated(name: string, compressed: readonly Buffer[], sums: EntrySums): Promise<void> {
    const compressedSize = compressed.reduce((n, c) => n + c.length, 0);
    const entry = this.beginEntry(name, DEFLATED, 0, sums, compressedSize);
    await this.push(this.localHeader(entry));
    for (const chunk of compressed) await this.push(chunk, true);
    this.offset += compressedSize;
  }

  /**
   * A DEFLATED entry streamed as its compressed bytes arrive; `end` writes the data descriptor with the CRC and size
   * of the uncompressed data, and the compressed size this writer counted.
   */
  async beginDeflated(name: string): Promise<{ write(chunk: Buffer): Promise<void>; end(sums: EntrySums): Promise<void> }> {
    const entry = this.beginEntry(name, DEFLATED, DESCRIPTOR, { crc: 0, size: 0 }, 0);
    this.open = true;
    await this.push(this.localHeader(entry));
    const start = this.offset;
    return {
      write: async (chunk) => {
        this.offset += chunk.length;
        await this.push(chunk);
      },
      end: async (sums) => {
        entry.crc = sums.crc;
        entry.size = sums.size;
        entry.compressedSize = this.offset - start;
        this.open = false;
        await this.push(this.descriptor(entry));
      },
    };
  }

  /** Writes the central directory and ends the output. */
  async finish(): Promise<void> {
    if (this.open) throw new Error('zip writer: an entry is still open');
    const start = this.offset;
    for (const entry of this.entries) await this.push(this.centralHeader(entry));
    const size = this.offset - start;
    const count = this.entries.length;
    if (count >= 0xffff || start >= MAX32 || size >= MAX32) {
      const record = this.offset;
      const end64 = Buffer.alloc(56 + 20);
      end64.writeUInt32LE(0x06064b50, 0);
      end64.writeBigUInt64LE(44n, 4);
      end64.writeUInt16LE(ZIP64_VERSION, 12);
      end64.writeUInt16LE(ZIP64_VERSION, 14);
      end64.writeBigUInt64LE(BigInt(count), 24);
      end64.writeBigUInt64LE(BigInt(count), 32);
      end64.writeBigUInt64LE(BigInt(size), 40);
      end64.writeBigUInt64LE(BigInt(start), 48);
      end64.writeUInt32LE(0x07064b50, 56);
      end64.writeBigUInt64LE(BigInt(record), 64);
      end64.writeUInt32LE(1, 72);
      await this.push(end64);
    }
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(Math.min(count, 0xffff), 8);
    end.writeUInt16LE(Math.min(count, 0xffff), 10);
    end.writeUInt32LE(Math.min(size, MAX32), 12);
    end.writeUInt32LE(Math.min(start, MAX32), 16);
    await this.push(end);
    await this.flushBlock();
    this.output.end();
  }

  /** Breaks the output off: the upload sees an error, never a zip that looks complete. */
  destroy(error: Error): void {
    this.block = [];
    this.handed = [];
    this.blockSize = 0;
    this.output.destroy(error);
  }

  private beginEntry(name: string, method: number, flags: number, sums: EntrySums, compressedSize: number): Written {
    if (this.open) throw new Error('zip writer: an entry is still open');
    const entry = { name: Buffer.from(name, 'utf8'), method, flags: flags | UTF8_NAMES, crc: sums.crc, size: sums.size, compressedSize, offset: this.offset };
    this.entries.push(entry);
    return entry;
  }

  private async push(chunk: Buffer, whole = false): Promise<void> {
    if (chunk.length === 0) return;
    // A destroyed output never drains; its error already went to whoever reads it.
    if (this.output.destroyed) throw new Error('zip writer: the output was broken off');
    this.block.push(chunk);
    this.blockSize += chunk.length;
    if (whole && this.giveBack) this.handed.push(chunk);
    if (this.blockSize >= BLOCK_BYTES) await this.flushBlock();
  }

  /** Hands the gathered bytes to the output as one chunk (copied once, unless they are one chunk already). */
  private async flushBlock(): Promise<void> {
    if (this.blockSize === 0) return;
    const copied = this.block.length > 1;
    const block = copied ? Buffer.concat(this.block, this.blockSize) : (this.block[0] as Buffer);
    // A block of one chunk is that chunk, on its way to the output: not given back.
    if (copied) for (const chunk of this.handed) this.giveBack?.(chunk);
    this.handed = [];
    this.block = [];
    this.blockSize = 0;
    if (this.output.destroyed) throw new Error('zip writer: the output was broken off');
    if (!this.output.write(block)) await once(this.output, 'drain', { signal: this.signal });
  }

  /** Counts header bytes into the offset (data bytes are counted by the caller, which knows their length). */
  private header(bytes: Buffer): Buffer {
    this.offset += bytes.length;
    return bytes;
  }

  private localHeader(e: Written): Buffer {
    const deferred = (e.flags & DESCRIPTOR) !== 0;
    const big = !deferred && (e.size >= MAX32 || e.compressedSize >= MAX32);
    const extra = big ? zip64Extra([e.size, e.compressedSize]) : Buffer.alloc(0);
    const h = Buffer.alloc(30 + e.name.length + extra.length);
    h.writeUInt32LE(0x04034b50, 0);
    h.writeUInt16LE(big ? ZIP64_VERSION : BASE_VERSION, 4);
    h.writeUInt16LE(e.flags, 6);
    h.writeUInt16LE(e.method, 8);
    h.writeUInt16LE(this.time, 10);
    h.writeUInt16LE(this.date, 12);
    // A deferred entry has zeros here; its descriptor carries the values.
    h.writeUInt32LE(deferred ? 0 : e.crc >>> 0, 14);
    h.writeUInt32LE(deferred ? 0 : big ? MAX32 : e.compressedSize, 18);
    h.writeUInt32LE(deferred ? 0 : big ? MAX32 : e.size, 22);
    h.writeUInt16LE(e.name.length, 26);
    h.writeUInt16LE(extra.length, 28);
    e.name.copy(h, 30);
    extra.copy(h, 30 + e.name.length);
    return this.header(h);
  }

  /** Java reads 8-byte descriptor sizes exactly when either count passed 0xFFFFFFFF (docs/reference/zip.md#java-reader). */
  private descriptor(e: Written): Buffer {
    const wide = e.size > MAX32 || e.compressedSize > MAX32;
    const d = Buffer.alloc(wide ? 24 : 16);
    d.writeUInt32LE(0x08074b50, 0);
    d.writeUInt32LE(e.crc >>> 0, 4);
    if (wide) {
      d.writeBigUInt64LE(BigInt(e.compressedSize), 8);
      d.writeBigUInt64LE(BigInt(e.size), 16);
    } else {
      d.writeUInt32LE(e.compressedSize, 8);
      d.writeUInt32LE(e.size, 12);
    }
    return this.header(d);
  }

  private centralHeader(e: Written): Buffer {
    const wide = [e.size, e.compressedSize, e.offset].filter((v) => v >= MAX32);
    const extra = wide.length > 0 ? zip64Extra(wide) : Buffer.alloc(0);
    const version = wide.length > 0 ? ZIP64_VERSION : BASE_VERSION;
    const h = Buffer.alloc(46 + e.name.length + extra.length);
    h.writeUInt32LE(0x02014b50, 0);
    h.writeUInt16LE(version, 4);
    h.writeUInt16LE(version, 6);
    h.writeUInt16LE(e.flags, 8);
    h.writeUInt16LE(e.method, 10);
    h.writeUInt16LE(this.time, 12);
    h.writeUInt16LE(this.date, 14);
    h.writeUInt32LE(e.crc >>> 0, 16);
    h.writeUInt32LE(Math.min(e.compressedSize, MAX32), 20);
    h.writeUInt32LE(Math.min(e.size, MAX32), 24);
    h.writeUInt16LE(e.name.length, 28);
    h.writeUInt16LE(extra.length, 30);
    h.writeUInt32LE(Math.min(e.offset, MAX32), 42);
    e.name.copy(h, 46);
    extra.copy(h, 46 + e.name.length);
    return this.header(h);
  }
}
