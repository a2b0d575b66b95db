// TCIA's streamed zip read entry by entry with each entry's raw bytes kept: boundaries, descriptors, truncation.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { crc32, deflateRawSync, inflateRawSync } from 'node:zlib';
import archiver from 'archiver';
import { zipStream } from '../../emulators/nbia/index.js';
import { readZipEvents, ZipEventReader, type ZipEvent } from '../../src/transfer/zip/zip-entry-reader.js';
import { pieces, readEntries, type ReadEntry } from '../support/zip-events.js';
import { ZipWriter } from '../../src/transfer/zip/zip-writer.js';
import { claimDownloaded, giveBackDownloaded } from '../../src/transfer/download-memory.js';

// ArrayBuffer.prototype.transfer: Node 22 and later (the image's Node, whose pass of the suite runs in CI).
const canGiveBack = typeof (ArrayBuffer.prototype as { transfer?: unknown }).transfer === 'function';

const readAll = (zip: Buffer, chunkSize: number): Promise<ReadEntry[]> => readEntries(pieces(zip, chunkSize));

async function collect(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

// A descriptor signature with a size that does not match, inside an entry's data, must not end the entry.
// Each decoy is followed by a record signature, so only the size check tells it from a real descriptor.
const decoy = Buffer.concat([Buffer.from('PK\x07\x08', 'latin1'), Buffer.alloc(12, 1), Buffer.from('PK\x03\x04', 'latin1'), Buffer.alloc(4, 9), Buffer.from('PK\x07\x08', 'latin1'), Buffer.alloc(20, 1), Buffer.from('PK\x01\x02', 'latin1'), Buffer.alloc(40, 2)]);
const files = [
  { name: 'LICENSE', data: Buffer.from('CC BY 4.0\n') },
  { name: '1-001.dcm', data: Buffer.concat([Buffer.alloc(70_000, 7), decoy, Buffer.alloc(5000, 3)]) },
  { name: 'empty.dcm', data: Buffer.alloc(0) },
  { name: 'md5hashes.csv', data: Buffer.from('Filename,MD5Hash\n') },
];

describe('readZipEvents', () => {
  it.each([1, 3, 17, 65_536])('reads DEFLATED entries with data descriptors in %i-byte chunks, raw bytes intact', async (size) => {
    const zip = await collect(zipStream(files, 6));
    const read = await readAll(zip, size);
    expect(read.map((r) => r.entry.name)).toEqual(files.map((f) => f.name));
    for (const [i, r] of read.entries()) {
      const data = files[i]?.data ?? Buffer.alloc(0);
      expect(r.entry.method).toBe(8);
      expect(inflateRawSync(r.raw)).toEqual(data);
      expect(r.end).toEqual({ crc: crc32(data), compressedSize: r.raw.length, size: data.length });
    }
  });

  it('lets whoever takes a whole chunk give its memory back while the reader waits (descriptors and sizes up front)', async () => {
    // Bytes that do not deflate, so each entry spans many chunks.
    const data = [randomBytes(50_000), randomBytes(30_000)];
    const withDescriptors = await collect(zipStream(data.map((d, i) => ({ name: `${i}.dcm`, data: d })), 6));
    const writer = new ZipWriter();
    const written = collect(writer.output);
    for (const [i, d] of data.entries()) await writer.addStored(`${i}.dcm`, d);
    await writer.finish();
    for (const zip of [withDescriptors, await written]) {
      // Each chunk in memory of its own, claimed as the NBIA source claims its download's.
      const chunks = Array.from({ length: Math.ceil(zip.length / 4096) }, (_, i) => {
        const piece = zip.subarray(i * 4096, (i + 1) * 4096);
        const own = Buffer.alloc(piece.length);
        piece.copy(own);
        return claimDownloaded(own);
      });
      const raw: Buffer[][] = [];
      let given = 0;
      for await (const event of readZipEvents(Readable.from(chunks))) {
        if (event.kind === 'entry') raw.push([]);
        else if (event.kind === 'data') {
          raw.at(-1)!.push(Buffer.from(event.chunk));
          giveBackDownloaded(event.chunk);
          if (event.chunk.length === 0) given += 1;
        }
      }
      const files = raw.map((parts, i) => (i < data.length && zip === withDescriptors ? inflateRawSync(Buffer.concat(parts)) : Buffer.concat(parts)));
      expect(files).toEqual(data);
      if (canGiveBack) expect(given).toBeGreaterThan(10);
    }
  });

  it('finds the end of a STORED entry with a descriptor past decoy signatures in its data', async () => {
    // Java never writes this shape, other zip writers do; the signature-plus-size search is what must hold.
    const archive = archiver('zip', { store: true });
    for (const f of files) archive.append(Readable.from([f.data]), { name: f.name });
    void archive.finalize();
    const read = await readAll(await collect(archive), 1000);
    expect(read.map((r) => [r.entry.method, r.raw])).toEqual(files.map((f) => [0, f.data]));
  });

  it('reads entries with sizes in the local header (STORED and DEFLATED, as ZipWriter writes them)', async () => {
    const writer = new ZipWriter();
    const zip = collect(writer.output);
    for (const [i, f] of files.entries()) {
      if (i % 2 === 0) await writer.addStored(f.name, f.data);
      else await writer.addDeflated(f.name, [deflateRawSync(f.data)], { crc: crc32(f.data), size: f.data.length });
    }
    await writer.finish();
    const read = await readAll(await zip, 4096);
    expect(read.map((r) => [r.entry.flags & 8, r.entry.method, r.entry.method === 0 ? r.raw : inflateRawSync(r.raw)])).toEqual(files.map((f, i) => [0, i % 2 === 0 ? 0 : 8, f.data]));
    expect(read.map((r) => [r.end.crc, r.end.size])).toEqual(files.map((f) => [crc32(f.data), f.data.length]));
  });

  it.each([100, 150, -30])('fails a zip cut off at byte %i instead of ending quietly', async (at) => {
    const zip = await collect(zipStream(files, 6));
    // 100: in a local header; 150: in 1-001.dcm's data; -30: in the central directory.
    await expect(readAll(zip.subarray(0, at < 0 ? zip.length + at : at), 512)).rejects.toThrow(/zip ends inside/);
  });

  it('fails what is not a zip', async () => {
    await expect(readAll(Buffer.from('<html><body>Service Unavailable</body></html>'), 512)).rejects.toThrow(/not a zip local header/);
  });
});

describe('ZipEventReader', () => {
  it('gives every event of a zip pushed whole, then nothing until more arrives, and ends only after the end record', async () => {
    const zip = await collect(zipStream(files, 6));
    const reader = new ZipEventReader();
    const events: ZipEvent[] = [];
    reader.push(zip.subarray(0, zip.length - 10));
    for (let event = reader.next(); event; event = reader.next()) events.push(event);
    expect(events.map((e) => e.kind).join(' ')).toBe('entry data end entry data end entry data end entry data end');
    expect(reader.next()).toBeUndefined();
    // The last 10 bytes hold part of the end record: without them the zip is cut off.
    expect(() => reader.end()).toThrow(/central directory/);
    reader.push(zip.subarray(zip.length - 10));
    expect(reader.next()).toBeUndefined();
    expect(() => reader.end()).not.toThrow();
  });

  it('names the entry a download stopped inside', async () => {
    const zip = await collect(zipStream(files, 6));
    const reader = new ZipEventReader();
    reader.push(zip.subarray(0, zip.indexOf('1-001.dcm') + ' 1-001.dcm'.length + 20));
    while (reader.next());
    expect(() => reader.end()).toThrow('zip ends inside 1-001.dcm');
  });

  it('lets go of its source when the reader of its events stops early', async () => {
    const zip = await collect(zipStream(files, 6));
    let released = false;
    async function* source(): AsyncGenerator<Buffer> {
      try {
        for (let at = 0; at < zip.length; at += 1000) yield zip.subarray(at, at + 1000);
      } finally {
        released = true;
      }
    }
    for await (const event of readZipEvents(source())) if (event.kind === 'entry' && event.entry.name === '1-001.dcm') break;
    expect(released).toBe(true);
  });
});
