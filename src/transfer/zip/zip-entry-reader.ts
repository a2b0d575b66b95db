/**
 * Reads a streamed zip (TCIA's getImage body) entry by entry and hands on each entry's bytes exactly as they arrived,
 * still compressed, so they can be copied through to XNAT; inflating a side copy is the caller's business. No
 * maintained streaming reader exposes an entry's raw bytes together with its data descriptor
 * (docs/reference/zip.md#readers), so this one is ours.
 *
 * An entry whose sizes follow in a data descriptor ends where a descriptor (its signature is optional) holds the
 * compressed size counted so far and is followed by the next record's signature. The reader does not inflate, so
 * it cannot see where the DEFLATE stream ends; the caller's inflate, which must end exactly there, and its CRC-32
 * and size check settle the rest (docs/reference/zip.md#readers).
 */
import { ZipFormatError } from '../../errors.js';

export { ZipFormatError };

/** One entry as its local header describes it. */
export interface LocalEntry {
  name: string;
  /** 0 STORED, 8 DEFLATED. */
  method: number;
  flags: number;
}

/** CRC-32 and sizes of an entry, from its local header or its data descriptor. */
export interface EntryEnd {
  crc: number;
  compressedSize: number;
  size: number;
}

export type ZipEvent = { kind: 'entry'; entry: LocalEntry } | { kind: 'data'; chunk: Buffer } | { kind: 'end'; end: EntryEnd };

const LOCAL = 0x04034b50;
const CENTRAL = 0x02014b50;
const END = 0x06054b50;
const DESCRIPTOR = 0x08074b50;
/** 'PK', how every record signature starts: what the search for the end of a described entry looks for. */
const RECORD_START = Buffer.from('PK', 'latin1');
/** A descriptor starting this many bytes or more before the end of what has arrived can be settled: 24 + 4 - 1. */
const TAIL = 27;
const MAX32 = 0xffffffff;
/** The end record (22 bytes) plus the longest comment it may carry. */
const END_SEARCH = 22 + 0xffff;
const END_SIG = Buffer.from([0x50, 0x4b, 0x05, 0x06]);
const EMPTY: Buffer = Buffer.alloc(0);


/**
 * What is left of `buf` after its first `used` bytes. A chunk handed on whole leaves no view of its memory here, so
 * whoever takes it may give that memory back (src/transfer/download-memory.ts) while this reader waits.
 */
function rest(buf: Buffer, used: number): Buffer {
  return used === buf.length ? EMPTY : buf.subarray(used);
}

/** Sizes from the ZIP64 extra field, which holds only the values the header marks 0xFFFFFFFF, in this order. */
function zip64Sizes(extra: Buffer, size: number, compressedSize: number): { size: number; compressedSize: number } {
  for (let i = 0; i + 4 <= extra.length; ) {
    const id = extra.readUInt16LE(i);
    const length = extra.readUInt16LE(i + 2);
    if (id === 0x0001) {
      let at = i + 4;
      const next = (): number => {
        if (at + 8 > i + 4 + length) throw new ZipFormatError('zip64 extra field too short');
        const value = Number(extra.readBigUInt64LE(at));
        at += 8;
        return value;
      };
      const wideSize = size === MAX32 ? next() : size;
      return { size: wideSize, compressedSize: compressedSize === MAX32 ? next() : compressedSize };
    }
    i += 4 + length;
  }
  return { size, compressedSize };
}

/**
 * The events of a streamed zip: for each entry 'entry', its raw (compressed) bytes as 'data' chunks, then 'end' with
 * its CRC-32 and sizes. Chunks are views of the source's buffers, not copies. Ends at the central directory, which
 * a complete zip always has; a source that ends before it is an error, so a cut-off download cannot pass.
 */
export async function* readZipEvents(source: AsyncIterable<Buffer>): AsyncGenerator<ZipEvent> {
  const reader = new ZipEventReader();
  for await (const chunk of source) {
    reader.push(chunk);
    for (let event = reader.next(); event; event = reader.next()) yield event;
  }
  reader.end();
}

const AT_RECORD = 0;
const IN_SIZED = 1;
const IN_DESCRIBED = 2;
const IN_CENTRAL = 3;

/**
 * The zip's events as a synchronous state machine fed chunk by chunk. It is one small object per download whose
 * methods are shared, rather than closures made per download inside an async generator: V8 compiled that generator
 * five or six times a run (each time 60-90 ms), dropping the code whenever the closures it had specialised on were
 * collected (docs/benchmarks.md).
 */
export class ZipEventReader {
  private buf: Buffer = EMPTY;
  private mode = AT_RECORD;
  private name = '';
  /** Bytes of an entry of known size still to come: from its local header, or none once its descriptor is found. */
  private left = 0;
  /** A described entry's bytes handed on so far. */
  private counted = 0;
  /** A described entry's last chunk, scanned and kept until the next one settles whether its end is in it. */
  private held: Buffer = EMPTY;
  /** The held chunk's last bytes joined to the next chunk's first, to look across the boundary without copying either. */
  private readonly join = Buffer.alloc(2 * TAIL);
  /** The CRC-32 and sizes of an entry of known size. */
  private entryEnd: EntryEnd | undefined;

  push(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    // The central directory repeats what the local headers said; only its end record is looked for.
    if (this.mode === IN_CENTRAL && this.buf.length > END_SEARCH) this.buf = this.buf.subarray(this.buf.length - END_SEARCH);
  }

  /** The next event the bytes pushed so far make, or undefined until more arrive. */
  next(): ZipEvent | undefined {
    if (this.mode === IN_DESCRIBED) return this.described();
    if (this.mode === IN_SIZED) return this.sized();
    if (this.mode === AT_RECORD) return this.record();
    return undefined;
  }

  /** The source has ended: throws unless the zip ended whole, with its end record. */
  end(): void {
    if (this.mode === IN_CENTRAL) {
      const at = this.buf.lastIndexOf(END_SIG);
      if (at < 0 || at + 22 > this.buf.length) throw new ZipFormatError('zip ends inside its central directory');
      return;
    }
    if (this.mode !== AT_RECORD) throw new ZipFormatError(`zip ends inside ${this.name}`);
    throw new ZipFormatError(`zip ends inside ${this.buf.length < 4 ? 'a record signature' : 'a local header'}`);
  }

  private record(): ZipEvent | undefined {
    const buf = this.buf;
    if (buf.length < 4) return undefined;
    const signature = buf.readUInt32LE(0);
    if (signature === CENTRAL || signature === END) {
      this.mode = IN_CENTRAL;
      return undefined;
    }
    if (signature !== LOCAL) throw new ZipFormatError(`not a zip local header (signature 0x${signature.toString(16)})`);
    if (buf.length < 30) return undefined;
    const nameLength = buf.readUInt16LE(26);
    const extraLength = buf.readUInt16LE(28);
    const headerLength = 30 + nameLength + extraLength;
    if (buf.length < headerLength) return undefined;
    const flags = buf.readUInt16LE(6);
    const entry: LocalEntry = { name: buf.toString('utf8', 30, 30 + nameLength), method: buf.readUInt16LE(8), flags };
    if (flags & 0x41) throw new ZipFormatError(`${entry.name} is encrypted`);
    const sizes = zip64Sizes(buf.subarray(30 + nameLength, headerLength), buf.readUInt32LE(22), buf.readUInt32LE(18));
    this.name = entry.name;
    this.buf = buf.subarray(headerLength);
    if (flags & 0x08) {
      this.mode = IN_DESCRIBED;
      this.counted = 0;
    } else {
      this.mode = IN_SIZED;
      this.entryEnd = { crc: buf.readUInt32LE(14), ...sizes };
      this.left = sizes.compressedSize;
    }
    return { kind: 'entry', entry };
  }

  /** An entry whose size is known: from its local header, or from its descriptor once found. */
  private sized(): ZipEvent | undefined {
    if (this.left === 0) {
      const end = this.entryEnd as EntryEnd;
      this.entryEnd = undefined;
      this.mode = AT_RECORD;
      return { kind: 'end', end };
    }
    if (this.buf.length === 0) return undefined;
    const take = Math.min(this.left, this.buf.length);
    const chunk = this.buf.subarray(0, take);
    this.buf = rest(this.buf, take);
    this.left -= take;
    return { kind: 'data', chunk };
  }

  /**
   * An entry whose sizes follow it in a data descriptor. Each chunk is scanned, then held whole until the next
   * one settles whether a descriptor starts in its last bytes; so a chunk still goes on as one view of it, not copied.
   */
  private described(): ZipEvent | undefined {
    if (this.held.length > 0) {
      if (this.buf.length >= TAIL) return this.settleHeld();
      if (this.buf.length === 0) return undefined;
      // A piece too short to settle the held bytes joins their last ones; what lies before those is entry data.
      const held = this.held;
      if (held.length > TAIL) {
        this.held = held.subarray(held.length - TAIL);
        return this.data(held.subarray(0, held.length - TAIL));
      }
      this.buf = Buffer.concat([held, this.buf]);
      this.held = EMPTY;
    }
    const buf = this.buf;
    const found = findDescriptor(buf, buf.length, this.counted, buf.length);
    if (!found) {
      this.held = buf;
      this.buf = EMPTY;
      return undefined;
    }
    this.ended(found, rest(buf, found.at + found.length));
    return found.at === 0 ? this.sized() : { kind: 'data', chunk: buf.subarray(0, found.at) };
  }

  /** Whether a descriptor starts in the held chunk's last bytes, from a copy of them joined to the next chunk's first. */
  private settleHeld(): ZipEvent {
    const held = this.held;
    const tail = Math.min(TAIL, held.length);
    const before = held.length - tail;
    held.copy(this.join, 0, before);
    this.buf.copy(this.join, tail, 0, TAIL);
    const found = findDescriptor(this.join, tail + TAIL, this.counted + before, tail);
    this.held = EMPTY;
    if (!found) return this.data(held);
    const after = found.at + found.length - tail;
    // The next record may start inside the held bytes (rarely, once an entry); only then is the next chunk copied.
    this.ended(found, after >= 0 ? rest(this.buf, after) : Buffer.concat([held.subarray(held.length + after), this.buf]));
    return before + found.at === 0 ? (this.sized() as ZipEvent) : { kind: 'data', chunk: held.subarray(0, before + found.at) };
  }

  private data(chunk: Buffer): ZipEvent {
    this.counted += chunk.length;
    return { kind: 'data', chunk };
  }

  /** From here the entry is one of known size with no bytes left: its 'end' follows the last 'data'. */
  private ended(found: Descriptor, next: Buffer): void {
    this.buf = next;
    this.mode = IN_SIZED;
    this.left = 0;
    this.entryEnd = found.end;
  }
}

interface Descriptor {
  /** Where it starts, and its length: 16 or 24 bytes with its signature, 12 or 20 without. */
  at: number;
  length: number;
  end: EntryEnd;
}

/** Descriptor lengths, earliest start first when they end at the same record signature. */
const FORMS = [24, 20, 16, 12];

/**
 * The first data descriptor in buf[0, limit) that starts before `before`, is followed by a local or central header,
 * and whose compressed size is the entry's byte count where it starts (`counted` bytes came before buf). Its
 * signature is optional (docs/reference/zip.md#data-descriptor), so the search is for the record after it.
 */
function findDescriptor(buf: Buffer, limit: number, counted: number, before: number): Descriptor | undefined {
  for (let next = buf.indexOf(RECORD_START, 12); next >= 0 && next + 4 <= limit; next = buf.indexOf(RECORD_START, next + 1)) {
    const signature = buf.readUInt32LE(next);
    if (signature !== LOCAL && signature !== CENTRAL) continue;
    for (const length of FORMS) {
      const at = next - length;
      if (at < 0 || at >= before) continue;
      const signed = length === 16 || length === 24;
      if (signed && buf.readUInt32LE(at) !== DESCRIPTOR) continue;
      // CRC-32, then compressed and uncompressed size; 8-byte sizes as Java writes them past 0xFFFFFFFF
      // (docs/reference/zip.md#java-reader).
      const crcAt = signed ? at + 4 : at;
      const wide = length === 20 || length === 24;
      const compressedSize = wide ? Number(buf.readBigUInt64LE(crcAt + 4)) : buf.readUInt32LE(crcAt + 4);
      if (compressedSize !== counted + at) continue;
      const size = wide ? Number(buf.readBigUInt64LE(crcAt + 12)) : buf.readUInt32LE(crcAt + 8);
      return { at, length, end: { crc: buf.readUInt32LE(crcAt), compressedSize, size } };
    }
  }
  return undefined;
}
