/**
 * Memory regression guard (issue 5): one large series streams through relaySeries while the heap is sampled.
 * The series is about 315 MB, so holding it (or any sizeable share of it) anywhere fails the bound; the test
 * checks memory only, never time, so a slow or busy machine cannot make it fail.
 *
 * The NBIA emulator runs in a child process: its own buffers then stay out of the figures, and it generates
 * DICOM ~25× faster there than inside Jest's VM context (dcmjs writing and the pixel fill, measured on the
 * 2-core box: ~10 MB/s in Jest against ~280 MB/s in plain Node), which keeps the test under half a minute.
 */
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import got from 'got';
import { relaySeries } from '../../src/transfer/relay-series.js';
import { seriesSpecFromUid } from '../../emulators/nbia/index.js';
import { EmulatorProcess } from '../../emulators/process.js';

const UID = '1.3.6.1.4.1.14519.5.2.1.99.5.600';
const IMAGES = 600;
/** 512×512 16-bit slices: ~512 KB per file, like CT, so the series is ~315 MB in all. */
const ROWS = 512;
/** Growth allowed over the starting heap + ArrayBuffer footprint while the series streams. */
const BOUND_MB = 150;

const SHAPE = { imagesPerSeries: [IMAGES, IMAGES] as [number, number], rows: ROWS, columns: ROWS, modalities: ['CT'] };
let nbia: EmulatorProcess;

beforeAll(async () => {
  // Real DEFLATE, as TCIA sends it, so the inflate path and its buffers are part of what is measured.
  nbia = await EmulatorProcess.start({ kind: 'nbia', options: { shape: SHAPE, deflateLevel: 1 } });
});
afterAll(async () => nbia?.close());

function footprintMB(): number {
  const m = process.memoryUsage();
  return (m.heapUsed + m.arrayBuffers) / 2 ** 20;
}

describe('memory while a large series streams', () => {
  it(`stays within ${BOUND_MB} MB of heap + ArrayBuffers over the start for a ~315 MB series`, async () => {
    const spec = seriesSpecFromUid(UID, SHAPE);
    const start = footprintMB();
    let peak = start;
    const sampler = setInterval(() => (peak = Math.max(peak, footprintMB())), 10);
    let uploaded = 0;
    try {
      const download = got.stream(`${nbia.url}/nbia-api/services/v4/getImage`, { searchParams: { SeriesInstanceUID: UID, IncludeMD5: 'Yes' } });
      let downloaded = 0;
      download.on('downloadProgress', (progress: { transferred: number }) => (downloaded = progress.transferred));
      const { stats } = await relaySeries(
        download,
        { seriesUid: UID, studyUid: spec.studyUid, imageCount: IMAGES },
        async (zip) => {
          // An upload that reads at full speed and keeps nothing, so only the relay's own buffering is measured.
          await pipeline(zip, new Writable({ write: (chunk: Buffer, _encoding, done) => ((uploaded += chunk.length), done()) }));
          return '/data/prearchive/projects/P/20260101_000000000/S';
        },
        new AbortController().signal,
      );
      peak = Math.max(peak, footprintMB());
      expect(stats.files).toBe(IMAGES);
      expect(stats.md5Verified).toBe(IMAGES);
      // The whole series really went through: the relay copies TCIA's compressed entries, so the sink saw about
      // every byte of TCIA's zip (less its LICENSE and md5hashes.csv).
      expect(stats.bytes).toBeGreaterThan(300e6);
      expect(uploaded).toBeGreaterThan(0.99 * downloaded);
    } finally {
      clearInterval(sampler);
    }
    const growth = peak - start;
    // Printed so a creeping figure is visible long before it crosses the bound.
    process.stdout.write(`memory.test: heap + ArrayBuffers grew by at most ${growth.toFixed(1)} MB (bound ${BOUND_MB} MB) over ${IMAGES} files\n`);
    expect(growth).toBeLessThan(BOUND_MB);
  });
});
