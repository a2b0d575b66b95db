// Data descriptors without their optional signature (docs/reference/zip.md#data-descriptor), as zip writers other
// than NBIA's may write them: the reader finds each entry's end in pieces of any size, and Java takes such a zip.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { crc32, inflateRawSync } from 'node:zlib';
import { unsignedDescriptorZip, zipStream, type UnsignedZipOptions, type ZipSource } from '../../emulators/nbia/index.js';
import { ZipEventReader } from '../../src/transfer/zip/zip-entry-reader.js';
import { pieces, readEntries, type ReadEntry } from '../support/zip-events.js';
import { readWithJava } from '../jdk/read-with-java.js';

async function collect(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk);
  return Buffer.concat(parts);
}

/** Record signatures after near-miss descriptors: only the compressed size tells these from the real end. */
function decoys(): Buffer {
  const near = (signature: string, width: number): Buffer => Buffer.concat([Buffer.alloc(4, 5), Buffer.alloc(2 * width, 1), Buffer.from(signature, 'latin1')]);
  return Buffer.concat([near('PK\x03\x04', 4), near('PK\x01\x02', 8), Buffer.from('PK\x07\x08PK', 'latin1'), near('PK\x03\x04', 8), Buffer.from('PK\x03', 'latin1')]);
}

const files: ZipSource[] = [
  { name: 'LICENSE', data: Buffer.from('CC BY 4.0\n') },
  { name: '1-001.dcm', data: Buffer.concat([randomBytes(70_000), decoys(), Buffer.alloc(5000, 3), decoys()]) },
  { name: 'empty.dcm', data: Buffer.alloc(0) },
  { name: '1-002.dcm', data: Buffer.concat([Buffer.alloc(3000, 9), randomBytes(100)]) },
  { name: 'md5hashes.csv', data: Buffer.from('Filename,MD5Hash\n') },
];

// Level 0 leaves the decoys in the entries' raw bytes (DEFLATE stored blocks); STORED entries hold them as they are.
const SHAPES: [string, UnsignedZipOptions][] = [
  ['DEFLATED, 12-byte descriptors', { level: 6 }],
  ['DEFLATED at level 0, 12-byte descriptors', { level: 0 }],
  ['DEFLATED, ZIP64, 20-byte descriptors', { level: 0, zip64: true }],
  ['STORED, 12-byte descriptors', { stored: true }],
  ['STORED, ZIP64, 20-byte descriptors', { stored: true, zip64: true }],
];
const WHOLE = Number.MAX_SAFE_INTEGER;
const SIZES = [1, 2, 3, 5, 12, 20, 26, 27, 28, 29, 100, 8192, 65_536, WHOLE];

function expectEntries(read: ReadEntry[], options: UnsignedZipOptions): void {
  expect(read.map((r) => r.entry.name)).toEqual(files.map((f) => f.name));
  for (const [i, r] of read.entries()) {
    const data = files[i]?.data as Buffer;
    expect(r.entry.method).toBe(options.stored ? 0 : 8);
    expect(r.entry.flags & 8).toBe(8);
    // Buffer.equals: jest's deep equality is too slow for thousands of reads.
    expect((options.stored ? r.raw : inflateRawSync(r.raw)).equals(data)).toBe(true);
    expect(r.end).toEqual({ crc: crc32(data), compressedSize: r.raw.length, size: data.length });
  }
}

describe('readZipEvents on descriptors without their signature', () => {
  describe.each(SHAPES)('%s', (_shape, options) => {
    let zip: Buffer;
    beforeAll(async () => {
      zip = await collect(unsignedDescriptorZip(files, options));
    });

    it('is written with descriptors of 12 or 20 bytes, no signature', async () => {
      const read = await readEntries([zip]);
      const local = read.reduce((sum, r) => sum + 30 + Buffer.byteLength(r.entry.name) + (options.zip64 ? 40 : 12) + r.raw.length, 0);
      // The central directory starts where the end record says, right after the last descriptor.
      expect(zip.readUInt32LE(zip.length - 6)).toBe(local);
    });

    it.each(SIZES.map((size) => [size === WHOLE ? 'one piece' : `${size}-byte pieces`, size] as const))('reads every entry whole in %s', async (_pieces, size) => {
      expectEntries(await readEntries(pieces(zip, size)), options);
    });

    it('reads every entry with the zip cut in two at any byte near an entry end', async () => {
      // Where each entry's end is followed by the next local header, or by the central directory.
      const ends = [...files.slice(1).map((f) => zip.indexOf(Buffer.from(f.name)) - 30), zip.readUInt32LE(zip.length - 6)];
      for (const end of ends) {
        for (let cut = Math.max(1, end - 40); cut <= end + 40; cut++) expectEntries(await readEntries([zip.subarray(0, cut), zip.subarray(cut)]), options);
      }
    });
  });

  it('hands on each piece of a long entry as it is, one data event per piece, not copied', async () => {
    const zip = await collect(unsignedDescriptorZip([{ name: 'big.dcm', data: randomBytes(200_000) }], { level: 0 }));
    const chunks = pieces(zip, 16_384);
    const reader = new ZipEventReader();
    const given: Buffer[] = [];
    for (const chunk of chunks) {
      reader.push(chunk);
      for (let event = reader.next(); event; event = reader.next()) if (event.kind === 'data') given.push(event.chunk);
    }
    // The first piece holds the local header, the last the entry's end; every piece between goes on whole.
    const whole = given.filter((chunk) => chunks.some((c) => c.buffer === chunk.buffer && c.byteOffset === chunk.byteOffset && c.length === chunk.length));
    expect(whole.length).toBe(chunks.length - 2);
    expect(given.length).toBe(chunks.length);
  });

  it('still fails a zip cut off inside an entry, naming it', async () => {
    const zip = await collect(unsignedDescriptorZip(files, { level: 6 }));
    const cut = zip.indexOf(Buffer.from('empty.dcm')) - 40;
    await expect(readEntries(pieces(zip.subarray(0, cut), 4096))).rejects.toThrow('zip ends inside 1-001.dcm');
  });

  it('reads signed descriptors as before, in pieces of 27-29 bytes around the look across pieces', async () => {
    const zip = await collect(zipStream(files, 6));
    for (const size of [27, 28, 29]) expectEntries(await readEntries(pieces(zip, size)), { level: 6 });
  });
});

describe("Java's ZipInputStream (how XNAT reads an upload) on descriptors without their signature", () => {
  it('reads DEFLATED entries with them', async () => {
    const java = await readWithJava(Readable.from(unsignedDescriptorZip(files, { level: 6 })));
    expect(java.error).toBeUndefined();
    expect(java.entries).toEqual(files.map((f) => ({ name: f.name, method: 8, size: f.data.length, crc: crc32(f.data) })));
  });

  it('refuses STORED entries with a descriptor, signed or not', async () => {
    const java = await readWithJava(Readable.from(unsignedDescriptorZip(files, { stored: true })));
    expect(java.error).toMatch(/only DEFLATED entries can have EXT descriptor/);
  });
});
