/**
 * Memory guard for the IDC source (issue 12): one large series, fetched object by object, several at a time,
 * through the relay, while the heap is sampled. Fetch-ahead is bounded in bytes as well as in count, so the
 * footprint does not grow with the series. Memory only, never time. The IDC emulator runs in its own process, as in
 * memory.test.ts, so its buffers stay out of the figures.
 */
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { seriesSpecFromUid } from '../../emulators/dicom/synthetic-series.js';
import { INDEX_BUCKET, INDEX_KEY } from '../../emulators/idc/catalog.js';
import { EmulatorProcess } from '../../emulators/process.js';
import { IdcSource } from '../../src/sources/idc/idc-source.js';
import { lookupIdcSeries } from '../../src/sources/idc/index-reader.js';
import { IdcLimiter } from '../../src/sources/idc/limiter.js';
import { IdcS3Client } from '../../src/sources/idc/s3-client.js';
import { relaySource } from '../../src/transfer/relay-series.js';

const UID = '1.3.6.1.4.1.14519.5.2.1.99.12.600';
const IMAGES = 600;
/** 512×512 16-bit slices, ~512 KB each: ~315 MB in all. */
const SHAPE = { imagesPerSeries: [IMAGES, IMAGES] as [number, number], rows: 512, columns: 512, modalities: ['CT'] };
/** Growth allowed over the start while the series streams (the bound). */
const BOUND_MB = 200;
const RETRY = { attempts: 4, baseDelayMs: 50, maxDelayMs: 500 };
let idc: EmulatorProcess;

beforeAll(async () => {
  idc = await EmulatorProcess.start({ kind: 'idc', options: { collection: [seriesSpecFromUid(UID, SHAPE)] } });
});
afterAll(async () => idc?.close());

function footprintMB(): number {
  const m = process.memoryUsage();
  return (m.heapUsed + m.arrayBuffers) / 2 ** 20;
}

it(`an IDC series of ~315 MB stays within ${BOUND_MB} MB of heap + ArrayBuffers over the start`, async () => {
  const spec = seriesSpecFromUid(UID, SHAPE);
  const { series: lookup } = await lookupIdcSeries(`${idc.url}/${INDEX_BUCKET}/${INDEX_KEY}`, [UID], { retry: RETRY });
  const source = new IdcSource({ lookup, s3: new IdcS3Client({ endpoint: idc.url, retry: RETRY }), limiter: new IdcLimiter(8, 64 * 1024 * 1024), retry: RETRY, publishedMd5: async () => undefined });
  const signal = new AbortController().signal;
  const series = (await source.open(UID, signal))!;
  const start = footprintMB();
  let peak = start;
  const sampler = setInterval(() => (peak = Math.max(peak, footprintMB())), 10);
  let uploaded = 0;
  try {
    const { stats } = await relaySource(series, { seriesUid: UID, studyUid: spec.studyUid, imageCount: IMAGES }, async (zip) => {
      await pipeline(zip, new Writable({ write: (chunk: Buffer, _encoding, done) => ((uploaded += chunk.length), done()) }));
      return '/data/prearchive/projects/P/20260101_000000000/S';
    }, signal);
    peak = Math.max(peak, footprintMB());
    expect(stats.files).toBe(IMAGES);
    expect(stats.md5Verified).toBe(IMAGES);
    expect(stats.bytes).toBeGreaterThan(300e6);
    expect(uploaded).toBeGreaterThan(stats.bytes);
  } finally {
    clearInterval(sampler);
  }
  const growth = peak - start;
  process.stdout.write(`idc-memory.test: heap + ArrayBuffers grew by at most ${growth.toFixed(1)} MB (bound ${BOUND_MB} MB) over ${IMAGES} objects\n`);
  expect(growth).toBeLessThan(BOUND_MB);
});
