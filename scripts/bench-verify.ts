/**
 * Verification micro-benchmark: one series zip, built in memory exactly as NBIA's getImage sends it, goes through
 * the relay (CRC-32 and size against the zip's descriptors, MD5 of every file, the header check, the outgoing zip) into
 * an upload that only counts bytes. `--relay tool` is the tool's relaySeries, which copies TCIA's DEFLATE bytes
 * through and inflates a side copy; `--relay floor` is no relay at all: each entry's
 * compressed bytes (cut out beforehand) inflated in one zlib call and hashed in one MD5 call, the least any
 * verifying tool must spend. No sockets and no emulator run at the same time, so the figure is the verify path alone. The
 * parent pins this process to one core with taskset, so the libuv pool's zlib work counts against that core too.
 *
 * Run: `node --import tsx scripts/bench-verify.ts [--images 200] [--rows 512] [--level 0] [--rounds 5] [--relay tool|floor] [--pixels default|ct|padded] [--profile FILE]`; prints
 * one JSON line. With --profile the rounds (and only the rounds: not start-up, not building the zip) are recorded
 * by the V8 CPU profiler into FILE, in the `.cpuprofile` format that `node --cpu-prof` writes.
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createHash } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import { seriesSpecFromUid, zipEntries, zipStream, type PixelShape } from '../emulators/nbia/index.js';
import { relaySeries } from '../src/transfer/relay-series.js';
import { readZipEvents } from '../src/transfer/zip/zip-entry-reader.js';

/** Which code a verify run measures. */
export type VerifyRelay = 'tool' | 'floor';

/** Pixel fills with the compression ratios the issue names: CT/MR-like (~2.5:1) and padded CT (~5.4:1) at level 6. */
export const PIXELS: Record<string, PixelShape | undefined> = {
  ct: { noiseBits: 6, padding: 0.28 },
  padded: { noiseBits: 4, padding: 0.62 },
  default: undefined,
};

/** One round of the micro-benchmark. */
export interface VerifyRound {
  seconds: number;
  cpuSeconds: number;
  bytes: number;
}

/** What the micro-benchmark reports. */
export interface VerifyResult {
  images: number;
  /** zlib level the zip was built with (0: no real compression to undo; 1: DEFLATE as TCIA sends). */
  level: number;
  dicomBytes: number;
  zipBytes: number;
  rounds: VerifyRound[];
  /** Whether the process was pinned to one core (set by the parent). */
  pinned?: boolean;
  relay?: VerifyRelay;
  pixels?: string;
  /** 'end' for the floor's second sitting, after every other step of the bench. */
  when?: 'end';
}

// Chunks of this size reach the tool from a socket on loopback; a WAN gives smaller ones.
const CHUNK = 64 * 1024;

/** The getImage zip of one synthetic series, held in memory. */
export async function seriesZip(images: number, rows: number, level: number, pixels?: PixelShape): Promise<{ zip: Buffer; uid: string; studyUid: string }> {
  const spec = seriesSpecFromUid('1.2.826.0.1.3680043.8.498.1.1.1', { imagesPerSeries: [images, images], rows, columns: rows, modalities: ['CT'], pixels });
  const parts: Buffer[] = [];
  for await (const chunk of zipStream(zipEntries(spec, { license: true, newFileNames: false, md5: true }), level)) parts.push(chunk as Buffer);
  return { zip: Buffer.concat(parts), uid: spec.seriesUid, studyUid: spec.studyUid };
}

/** An entry's compressed bytes and its inflated size, as TCIA's data descriptor gives it. */
interface FloorEntry {
  compressed: Buffer;
  size: number;
}

/** The compressed bytes of each entry, cut out of the zip before timing starts (for the floor). */
async function compressedEntries(zip: Buffer): Promise<FloorEntry[]> {
  const entries: FloorEntry[] = [];
  let parts: Buffer[] = [];
  for await (const event of readZipEvents(Readable.from([zip]))) {
    if (event.kind === 'entry') parts = [];
    else if (event.kind === 'data') parts.push(event.chunk);
    else entries.push({ compressed: Buffer.concat(parts), size: event.end.size });
  }
  return entries;
}

/**
 * The floor: inflate and MD5 of every entry in native code, one call each, no streams and no copies in JavaScript.
 * Each file is inflated into one buffer of its size and that memory given back at once where the runtime can, so
 * neither zlib's growing output nor the collector's pressure from dropped buffers is counted as the floor's.
 */
function floorOnce(entries: FloorEntry[]): VerifyRound {
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  let bytes = 0;
  for (const { compressed, size } of entries) {
    const data = inflateRawSync(compressed, { chunkSize: Math.max(64 * 1024, size + 1) });
    createHash('md5').update(data).digest();
    bytes += data.length;
    (data.buffer as ArrayBuffer & { transfer?: (length: number) => ArrayBuffer }).transfer?.(0);
  }
  const used = process.cpuUsage(cpu);
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, cpuSeconds: (used.user + used.system) / 1e6, bytes };
}

/** Streams the zip through a relay once; returns wall and CPU seconds and the DICOM bytes verified. */
export async function verifyOnce(zip: Buffer, uid: string, studyUid: string, images: number): Promise<VerifyRound> {
  const source = Readable.from(
    (function* () {
      for (let offset = 0; offset < zip.length; offset += CHUNK) yield zip.subarray(offset, offset + CHUNK);
    })(),
  );
  const sink = new Writable({ write: (_chunk, _encoding, done) => done() });
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  const { stats } = await relaySeries(
    source,
    { seriesUid: uid, studyUid, imageCount: images },
    async (body) => {
      await pipeline(body, sink);
      return '/data/prearchive/projects/BENCH/20260101_000000000/S';
    },
    new AbortController().signal,
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  if (stats.md5Verified !== images) throw new Error(`verified ${stats.md5Verified} of ${images} files`);
  return { seconds, cpuSeconds: (used.user + used.system) / 1e6, bytes: stats.bytes };
}

async function main(): Promise<void> {
  const arg = (name: string, fallback: number): number => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? Number(process.argv[i + 1]) : fallback;
  };
  const images = arg('images', 200);
  const rows = arg('rows', 512);
  const level = arg('level', 0);
  const rounds = arg('rounds', 5);
  const text = (name: string, fallback: string): string => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
  };
  const profile = text('profile', '') || undefined;
  const relay = text('relay', 'tool') as VerifyRelay;
  const pixels = text('pixels', 'default');
  const { zip, uid, studyUid } = await seriesZip(images, rows, level, PIXELS[pixels]);
  const entries = relay === 'floor' ? (await compressedEntries(zip)).slice(1, 1 + images) : [];
  const once = async (): Promise<VerifyRound> => (relay === 'floor' ? floorOnce(entries) : verifyOnce(zip, uid, studyUid, images));
  // One unmeasured round lets V8 compile the hot paths first, as they would be a few series into a real run.
  await once();
  const session = profile ? new Session() : undefined;
  if (session) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
  }
  const result: VerifyResult = { images, level, dicomBytes: 0, zipBytes: zip.length, rounds: [], relay, pixels };
  for (let i = 0; i < rounds; i++) {
    const round = await once();
    result.dicomBytes = round.bytes;
    result.rounds.push(round);
  }
  if (session && profile) {
    const { profile: recorded } = await session.post('Profiler.stop');
    await writeFile(profile, JSON.stringify(recorded));
    session.disconnect();
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, '/'))) {
  main().catch((error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  });
}
