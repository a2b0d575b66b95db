/**
 * Verification micro-benchmark: one series zip, built in memory exactly as NBIA's getImage sends it, goes through
 * the tool's relaySeries (MD5 of every file, dcmjs header parse up to PixelData, re-zip) into an upload that only
 * counts bytes. No sockets and no emulator run at the same time, so the figure is the verify path alone. The
 * parent pins this process to one core with taskset, so the libuv pool's zlib work counts against that core too.
 *
 * Run: `node --import tsx scripts/bench-verify.ts [--images 200] [--rows 512] [--level 0] [--rounds 5] [--profile FILE]`; prints
 * one JSON line. With --profile the rounds (and only the rounds: not start-up, not building the zip) are recorded
 * by the V8 CPU profiler into FILE, in the `.cpuprofile` format that `node --cpu-prof` writes.
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { seriesSpecFromUid, zipEntries, zipStream } from '../emulators/nbia/index.js';
import { relaySeries } from '../src/transfer/relay-series.js';

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
}

// Chunks of this size reach the tool from a socket on loopback; a WAN gives smaller ones.
const CHUNK = 64 * 1024;

/** The getImage zip of one synthetic series, held in memory. */
export async function seriesZip(images: number, rows: number, level: number): Promise<{ zip: Buffer; uid: string; studyUid: string }> {
  const spec = seriesSpecFromUid('1.2.826.0.1.3680043.8.498.1.1.1', { imagesPerSeries: [images, images], rows, columns: rows, modalities: ['CT'] });
  const parts: Buffer[] = [];
  for await (const chunk of zipStream(zipEntries(spec, { license: true, newFileNames: false, md5: true }), level)) parts.push(chunk as Buffer);
  return { zip: Buffer.concat(parts), uid: spec.seriesUid, studyUid: spec.studyUid };
}

/** Streams the zip through relaySeries once; returns wall and CPU seconds and the DICOM bytes verified. */
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
  const profileAt = process.argv.indexOf('--profile');
  const profile = profileAt >= 0 ? process.argv[profileAt + 1] : undefined;
  const { zip, uid, studyUid } = await seriesZip(images, rows, level);
  // One unmeasured round lets V8 compile the hot paths first, as they would be a few series into a real run.
  await verifyOnce(zip, uid, studyUid, images);
  const session = profile ? new Session() : undefined;
  if (session) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
  }
  const result: VerifyResult = { images, level, dicomBytes: 0, zipBytes: zip.length, rounds: [] };
  for (let i = 0; i < rounds; i++) {
    const round = await verifyOnce(zip, uid, studyUid, images);
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
