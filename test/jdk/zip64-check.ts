/**
 * ZIP64 read by Java: a zip past 4 GiB, generated as a stream (nothing stored on disk), read back by
 * java.util.zip.ZipInputStream as XNAT's DICOM-zip importer reads uploads, every byte checked by its CRC-32.
 * Too slow for the jest suite (about 4.3 GB through a pipe), so .ci/run runs it: `npx tsx test/jdk/zip64-check.ts`.
 *
 * Entries: a STORED entry of 4 GiB + 1 MiB (sizes in a ZIP64 extra field), then a DEFLATED entry with a data
 * descriptor that inflates to 4 GiB + 2 MiB (8-byte descriptor sizes) and starts past the 4 GiB offset, then a small
 * STORED entry whose offset needs ZIP64 in the central directory.
 */
import { constants, crc32, deflateRawSync } from 'node:zlib';
import { ZipWriter } from '../../src/transfer/zip/zip-writer.js';
import { readWithJava } from './read-with-java.js';

const MiB = 1024 * 1024;
const block = Buffer.alloc(MiB);
for (let i = 0; i < block.length; i++) block[i] = (i * 31 + (i >>> 11)) & 0xff;

/** CRC-32 of `block` repeated `times` times, computed natively. */
function repeatedCrc(times: number): number {
  let crc = 0;
  for (let i = 0; i < times; i++) crc = crc32(block, crc);
  return crc;
}

async function main(): Promise<void> {
  const started = Date.now();
  const storedBlocks = 4096 + 1;
  const deflatedBlocks = 4096 + 2;
  // One block compressed with an empty history ends on a byte boundary (sync flush) and refers only to itself, so
  // repeating it is a valid DEFLATE stream of the repeated block; an empty final block ends the stream.
  const compressed = deflateRawSync(block, { finishFlush: constants.Z_SYNC_FLUSH });
  const final = deflateRawSync(Buffer.alloc(0));
  const small = Buffer.from('after four gibibytes\n');

  const writer = new ZipWriter();
  const java = readWithJava(writer.output);
  const stored = await writer.beginStored('stored-4GiB.bin', { crc: repeatedCrc(storedBlocks), size: storedBlocks * MiB });
  for (let i = 0; i < storedBlocks; i++) await stored.write(block);
  await stored.end();
  const deflated = await writer.beginDeflated('deflated-4GiB.bin');
  for (let i = 0; i < deflatedBlocks; i++) await deflated.write(compressed);
  await deflated.write(final);
  await deflated.end({ crc: repeatedCrc(deflatedBlocks), size: deflatedBlocks * MiB });
  await writer.addStored('small.txt', small);
  await writer.finish();
  const total = writer.bytes;
  const { entries, error } = await java;

  const want = [
    { name: 'stored-4GiB.bin', method: 0, size: storedBlocks * MiB, crc: repeatedCrc(storedBlocks) },
    { name: 'deflated-4GiB.bin', method: 8, size: deflatedBlocks * MiB, crc: repeatedCrc(deflatedBlocks) },
    { name: 'small.txt', method: 0, size: small.length, crc: crc32(small) },
  ];
  const ok = !error && JSON.stringify(entries) === JSON.stringify(want);
  const say = ok ? process.stdout : process.stderr;
  say.write(`zip64 check: ${(total / 1e9).toFixed(2)} GB zip read by java.util.zip.ZipInputStream in ${((Date.now() - started) / 1000).toFixed(1)} s: ${ok ? 'ok' : 'FAILED'}\n`);
  if (!ok) {
    process.stderr.write(`  java: ${error ?? 'read the zip'}\n  got:  ${JSON.stringify(entries)}\n  want: ${JSON.stringify(want)}\n`);
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`zip64 check: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
