// The outgoing zip as XNAT reads it: every kind of entry ZipWriter writes, read back by java.util.zip.ZipInputStream.
import { crc32, deflateRawSync } from 'node:zlib';
import { zipEntries, zipStream, seriesSpecFromUid } from '../../emulators/nbia/index.js';
import { readZipEvents, type EntryEnd } from '../../src/transfer/zip/zip-entry-reader.js';
import { claimDownloaded, giveBackDownloaded } from '../../src/transfer/download-memory.js';
import { ZipWriter } from '../../src/transfer/zip/zip-writer.js';
import { readWithJava } from '../jdk/read-with-java.js';

// ArrayBuffer.prototype.transfer: Node 22 and later (the image's Node, whose pass of the suite runs in CI).
const canGiveBack = typeof (ArrayBuffer.prototype as { transfer?: unknown }).transfer === 'function';

/** Deterministic bytes that deflate about 3:1. */
function sample(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  for (let i = 0; i < size; i++) out[i] = (i % 7 === 0 ? (i * seed) >>> 3 : i >>> 9) & 0xff;
  return out;
}

function split(data: Buffer, size: number): Buffer[] {
  const parts: Buffer[] = [];
  for (let at = 0; at < data.length; at += size) parts.push(data.subarray(at, at + size));
  return parts;
}


describe('ZipWriter read by Java ZipInputStream', () => {
  it('writes STORED, whole DEFLATED and streamed DEFLATED (data descriptor) entries Java reads byte for byte', async () => {
    const files = { stored: sample(300_000, 3), empty: Buffer.alloc(0), whole: sample(200_000, 5), streamed: sample(1_500_000, 11) };
    const writer = new ZipWriter();
    const java = readWithJava(writer.output);
    await writer.addStored('dir/stored.dcm', files.stored);
    await writer.addStored('empty', files.empty);
    await writer.addDeflated('whole-é.dcm', split(deflateRawSync(files.whole, { level: 6 }), 10_000), { crc: crc32(files.whole), size: files.whole.length });
    const entry = await writer.beginDeflated('streamed.dcm');
    for (const part of split(deflateRawSync(files.streamed, { level: 6 }), 65_536)) await entry.write(part);
    await entry.end({ crc: crc32(files.streamed), size: files.streamed.length });
    await writer.finish();
    const { entries, error } = await java;
    expect(error).toBeUndefined();
    expect(entries).toEqual([
      { name: 'dir/stored.dcm', method: 0, size: files.stored.length, crc: crc32(files.stored) },
      { name: 'empty', method: 0, size: 0, crc: 0 },
      { name: 'whole-é.dcm', method: 8, size: files.whole.length, crc: crc32(files.whole) },
      { name: 'streamed.dcm', method: 8, size: files.streamed.length, crc: crc32(files.streamed) },
    ]);
  });

  it('a descriptor whose CRC does not match the bytes is refused by Java, so the CRC must be checked before copying', async () => {
    const data = sample(100_000, 7);
    const writer = new ZipWriter();
    const java = readWithJava(writer.output);
    const entry = await writer.beginDeflated('bad.dcm');
    await entry.write(deflateRawSync(data));
    await entry.end({ crc: crc32(data) ^ 1, size: data.length });
    await writer.finish();
    expect((await java).error).toMatch(/invalid entry CRC/);
  });

  it("copies TCIA's DEFLATED entries through unchanged (reader to writer), and Java reads the original bytes", async () => {
    const spec = seriesSpecFromUid('1.2.826.0.1.3680043.8.498.1.7.7', { imagesPerSeries: [12, 12], rows: 256, columns: 256, modalities: ['CT'] });
    const sources = [...zipEntries(spec, { license: true, newFileNames: false, md5: true })];
    const writer = new ZipWriter();
    const java = readWithJava(writer.output);
    let open: Awaited<ReturnType<ZipWriter['beginDeflated']>> | undefined;
    const ends: EntryEnd[] = [];
    for await (const event of readZipEvents(zipStream(sources, 6))) {
      if (event.kind === 'entry') {
        expect(event.entry).toMatchObject({ method: 8, flags: expect.any(Number) });
        expect(event.entry.flags & 8).toBe(8);
        open = await writer.beginDeflated(event.entry.name);
      } else if (event.kind === 'data') await open?.write(event.chunk);
      else {
        ends.push(event.end);
        await open?.end(event.end);
      }
    }
    await writer.finish();
    const { entries, error } = await java;
    expect(error).toBeUndefined();
    expect(entries).toEqual(sources.map((s) => ({ name: s.name, method: 8, size: s.data.length, crc: crc32(s.data) })));
    expect(ends.map((e) => [e.crc, e.size])).toEqual(sources.map((s) => [crc32(s.data), s.data.length]));
  });

  it('emits nothing Java would take for a whole zip when the writer is destroyed mid-entry', async () => {
    const writer = new ZipWriter();
    const java = readWithJava(writer.output);
    // More than one block (256 KB), so part of the zip has gone out before the break.
    await writer.addStored('one.dcm', sample(300_000, 2));
    const entry = await writer.beginDeflated('two.dcm');
    await entry.write(deflateRawSync(sample(80_000, 9)).subarray(0, 1000));
    writer.destroy(new Error('verification failed'));
    const { error, broken } = await java;
    expect(error).toBeDefined();
    expect(broken).toBe(true);
  });

  it("gives back a whole entry's chunks once a block has copied them, never a chunk that goes out as its own block or one of a streamed entry", async () => {
    const files = { small: sample(40_000, 4), large: sample(600_000, 6), whole: sample(120_000, 8), streamed: sample(200_000, 10) };
    const given = new Set<Buffer>();
    // The relay's: the memory is freed at once where the runtime can (Node 22 and later), so a chunk given back
    // before its bytes were copied would reach Java empty.
    const writer = new ZipWriter({ giveBack: (chunk) => void (given.add(chunk), giveBackDownloaded(chunk)) });
    const java = readWithJava(writer.output);
    // Each chunk in memory of its own (Buffer.alloc never uses the pool), claimed as the sources claim downloads.
    const own = (parts: Buffer[]): Buffer[] => parts.map((part) => {
      const copy = Buffer.alloc(part.length);
      part.copy(copy);
      return claimDownloaded(copy);
    });
    const small = own(split(files.small, 10_000));
    // The first half fills a block with the header; the second is a block on its own, sent on as it is.
    const large = own(split(files.large, 300_000));
    const whole = own(split(deflateRawSync(files.whole, { level: 6 }), 16_000));
    const streamed = own(split(deflateRawSync(files.streamed, { level: 6 }), 16_000));
    await writer.addStored('small.dcm', small);
    await writer.addStored('large.dcm', large);
    await writer.addDeflated('whole.dcm', whole, { crc: crc32(files.whole), size: files.whole.length });
    const entry = await writer.beginDeflated('streamed.dcm');
    for (const part of streamed) await entry.write(part);
    await entry.end({ crc: crc32(files.streamed), size: files.streamed.length });
    await writer.finish();
    const { entries, error } = await java;
    expect(error).toBeUndefined();
    expect(entries.map((e) => [e.name, e.size, e.crc])).toEqual(Object.entries(files).map(([name, data]) => [`${name}.dcm`, data.length, crc32(data)]));
    expect([...small, large[0], ...whole].every((chunk) => given.has(chunk!))).toBe(true);
    expect(given.has(large[1]!)).toBe(false);
    expect(streamed.some((chunk) => given.has(chunk))).toBe(false);
    expect(given.size).toBe(small.length + 1 + whole.length);
    if (canGiveBack) expect([...given].every((chunk) => chunk.length === 0)).toBe(true);
  });

  it('gathers small writes into blocks; a break drops what is gathered and fails the output', async () => {
    const writer = new ZipWriter();
    const chunks: Buffer[] = [];
    writer.output.on('data', (chunk: Buffer) => chunks.push(chunk));
    const failed = new Promise<Error>((resolve) => writer.output.once('error', resolve));
    for (let i = 0; i < 40; i++) await writer.addStored(`f${i}.dcm`, sample(10_000, i));
    // 40 entries of about 10 KB: one block of 256 KB or more has gone out whole, the rest waits for the next.
    expect(chunks.length).toBe(1);
    expect(chunks[0]?.length).toBeGreaterThanOrEqual(256 * 1024);
    writer.destroy(new Error('verification failed'));
    expect((await failed).message).toBe('verification failed');
    expect(Buffer.concat(chunks).length).toBeLessThan(writer.bytes);
  });
});
