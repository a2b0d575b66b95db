/**
 * Reads a streamed zip (TCIA's getImage body) entry by entry and hands on each entry's bytes exactly as they arrived,
 * still compressed, so they can be copied through to XNAT; inflating a side copy is the caller's business. No
 * maintained streaming reader exposes an entry's raw bytes together with its data descriptor
 * (docs/reference/zip.md#readers), so this one is ours.
 *
 * An entry whose sizes follow in a data descriptor ends where a descriptor signature is followed by the compressed
 * size counted so far and then by the next record's signature; the caller's inflate and CRC check settle the rest.
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
const DESCRIPTOR_SIG = Buffer.from([0x50, 0x4b, 0x07, 0x08]);
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

/** How many bytes at the end of `buf` could be the start of a descriptor signature cut off by the chunk boundary. */
function partialSignature(buf: Buffer): number {
  for (let n = Math.min(3, buf.length); n > 0; n--) {
    if (buf.subarray(buf.length - n).equals(DESCRIPTOR_SIG.subarray(0, n))) return n;
  }
  return 0;
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
  /** A described entry's bytes handed on so far, and where the next look for its descriptor starts. */
  private counted = 0;
  private from = 0;
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
      this.from = 0;
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

  /** An entry whose sizes follow it in a data descriptor. */
  private described(): ZipEvent | undefined {
    const buf = this.buf;
    for (;;) {
      const at = buf.indexOf(DESCRIPTOR_SIG, this.from);
      if (at < 0 || buf.length < at + 28) {
        // Hand on what cannot be (the start of) a descriptor, then wait for more bytes.
        const give = buf.length - (at < 0 ? partialSignature(buf) : buf.length - at);
        this.from = 0;
        if (give === 0) return undefined;
        this.counted += give;
        this.buf = rest(buf, give);
        return { kind: 'data', chunk: buf.subarray(0, give) };
      }
      const end = descriptorAt(buf, at, this.counted + at);
      if (!end) {
        this.from = at + 1;
        continue;
      }
      // From here the entry is one of known size with no bytes left: its 'end' follows the last 'data'.
      this.buf = buf.subarray(at + end.length);
      this.mode = IN_SIZED;
      this.left = 0;
      this.entryEnd = end.end;
      return at === 0 ? this.sized() : { kind: 'data', chunk: buf.subarray(0, at) };
    }
  }
}

/** A data descriptor at `at` if its compressed size is `counted` and a record signature follows it (16 or 24 bytes). */
function descriptorAt(buf: Buffer, at: number, counted: number): { end: EntryEnd; length: number } | undefined {
  const followedByRecord = (offset: number): boolean => {
    const next = buf.readUInt32LE(offset);
    return next === LOCAL || next === CENTRAL;
  };
  if (buf.readUInt32LE(at) !== DESCRIPTOR) return undefined;
  const crc = buf.readUInt32LE(at + 4);
  if (buf.readUInt32LE(at + 8) === counted && followedByRecord(at + 16)) {
    return { end: { crc, compressedSize: counted, size: buf.readUInt32LE(at + 12) }, length: 16 };
  }
  // Java writes 8-byte sizes once either size passes 0xFFFFFFFF (docs/reference/zip.md#java-reader).
  if (Number(buf.readBigUInt64LE(at + 8)) === counted && followedByRecord(at + 24)) {
    return { end: { crc, compressedSize: counted, size: Number(buf.readBigUInt64LE(at + 16)) }, length: 24 };
  }
  return undefined;
}
