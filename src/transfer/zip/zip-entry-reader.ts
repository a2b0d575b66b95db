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
  const input = source[Symbol.asyncIterator]();
  let buf: Buffer = EMPTY;
  let ended = false;
  const more = async (): Promise<boolean> => {
    if (ended) return false;
    const next = await input.next();
    if (next.done) {
      ended = true;
      return false;
    }
    buf = buf.length === 0 ? next.value : Buffer.concat([buf, next.value]);
    return true;
  };
  const need = async (bytes: number, what: string): Promise<void> => {
    while (buf.length < bytes) if (!(await more())) throw new ZipFormatError(`zip ends inside ${what}`);
  };

  for (;;) {
    await need(4, 'a record signature');
    const signature = buf.readUInt32LE(0);
    if (signature === CENTRAL || signature === END) {
      // The central directory repeats what the local headers said; it is read to the end and not used, but a zip
      // that stops before its end record was cut off.
      while (await more()) if (buf.length > END_SEARCH) buf = buf.subarray(buf.length - END_SEARCH);
      const end = buf.lastIndexOf(END_SIG);
      if (end < 0 || end + 22 > buf.length) throw new ZipFormatError('zip ends inside its central directory');
      return;
    }
    if (signature !== LOCAL) throw new ZipFormatError(`not a zip local header (signature 0x${signature.toString(16)})`);
    await need(30, 'a local header');
    const nameLength = buf.readUInt16LE(26);
    const extraLength = buf.readUInt16LE(28);
    await need(30 + nameLength + extraLength, 'a local header');
    const flags = buf.readUInt16LE(6);
    const entry: LocalEntry = { name: buf.toString('utf8', 30, 30 + nameLength), method: buf.readUInt16LE(8), flags };
    if (flags & 0x41) throw new ZipFormatError(`${entry.name} is encrypted`);
    const sizes = zip64Sizes(buf.subarray(30 + nameLength, 30 + nameLength + extraLength), buf.readUInt32LE(22), buf.readUInt32LE(18));
    const headerEnd: EntryEnd = { crc: buf.readUInt32LE(14), ...sizes };
    buf = buf.subarray(30 + nameLength + extraLength);
    yield { kind: 'entry', entry };

    if ((flags & 0x08) === 0) {
      for (let left = headerEnd.compressedSize; left > 0; ) {
        if (buf.length === 0) await need(1, entry.name);
        const take = Math.min(left, buf.length);
        const chunk = buf.subarray(0, take);
        buf = rest(buf, take);
        left -= take;
        yield { kind: 'data', chunk };
      }
      yield { kind: 'end', end: headerEnd };
      continue;
    }

    let counted = 0;
    let from = 0;
    for (;;) {
      const at = buf.indexOf(DESCRIPTOR_SIG, from);
      if (at < 0 || buf.length < at + 28) {
        // Hand on what cannot be (the start of) a descriptor, then wait for more bytes.
        const keep = at < 0 ? partialSignature(buf) : buf.length - at;
        const give = buf.length - keep;
        const chunk = buf.subarray(0, give);
        counted += give;
        buf = rest(buf, give);
        from = 0;
        if (give > 0) yield { kind: 'data', chunk };
        if (!(await more())) throw new ZipFormatError(`zip ends inside ${entry.name}`);
        continue;
      }
      const end = descriptorAt(buf, at, counted + at);
      if (!end) {
        from = at + 1;
        continue;
      }
      const chunk = buf.subarray(0, at);
      buf = buf.subarray(at + end.length);
      if (at > 0) yield { kind: 'data', chunk };
      yield { kind: 'end', end: end.end };
      break;
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
