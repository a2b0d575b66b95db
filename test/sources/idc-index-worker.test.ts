import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildCollection } from '../../emulators/dicom/synthetic-series.js';
import { startIdcEmulator, type IdcEmulator } from '../../emulators/idc/index.js';
import { AbortedError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import { IdcHttpError } from '../../src/sources/idc/errors.js';
import { IdcIndexError } from '../../src/sources/idc/index-location.js';
import { lookupIdcSeries } from '../../src/sources/idc/index-reader.js';
import { lookupIdcSeriesInWorker, workerHeapMb } from '../../src/sources/idc/lookup-in-worker.js';

// The bundled worker, as the CLI runs it (the suite's global setup builds dist/ first).
const workerUrl = pathToFileURL(resolve('dist', 'idc-index-worker.js'));
const UIDS = Array.from({ length: 30 }, (_, i) => `1.3.6.1.4.1.14519.5.2.1.79.${3000 + i}`);
const FAST = { attempts: 2, baseDelayMs: 5, maxDelayMs: 20 };
let emu: IdcEmulator;
let dir: string;

beforeAll(async () => {
  emu = await startIdcEmulator({ collection: buildCollection(UIDS, { imagesPerSeries: [1, 2] }), indexRowGroupSize: 7 });
  dir = await mkdtemp(join(tmpdir(), 'xtd-idc-worker-'));
});
afterAll(async () => {
  await emu.close();
  await rm(dir, { recursive: true, force: true });
});
afterEach(() => emu.faults.clear());

function recordingLogger(): { logger: Logger; warnings: string[] } {
  const warnings: string[] = [];
  const logger = { warn: (message: string) => warnings.push(message) } as unknown as Logger;
  return { logger, warnings };
}

test('the worker finds what the lookup in this thread finds, over HTTP', async () => {
  const wanted = [UIDS[1]!, UIDS[17]!, UIDS[29]!, '1.2.3.not.in.idc'];
  const { logger, warnings } = recordingLogger();
  const apart = await lookupIdcSeriesInWorker(emu.indexUrl, wanted, { retry: FAST, workerUrl, logger });
  const here = await lookupIdcSeries(emu.indexUrl, wanted, { retry: FAST });
  // Compared as plain data: the worker's objects are cloned into this realm, not the test's.
  expect(JSON.stringify([...apart.series])).toBe(JSON.stringify([...here.series]));
  expect([...apart.series.keys()].sort()).toEqual([UIDS[1], UIDS[17], UIDS[29]].sort());
  expect(apart.series.get(UIDS[17]!)?.seriesUuid).toBe(emu.entry(UIDS[17]!)!.seriesUuid);
  expect({ rows: apart.rows, etag: apart.etag }).toEqual({ rows: 30, etag: emu.indexEtag() });
  expect(apart.bytesFetched).toBeGreaterThan(0);
  expect(warnings).toEqual([]);
});

test('a worker that runs out of heap is not the end: the lookup runs again in this thread, and says so', async () => {
  const { logger, warnings } = recordingLogger();
  const result = await lookupIdcSeriesInWorker(emu.indexUrl, [UIDS[4]!], { retry: FAST, workerUrl, logger, heapMb: 1 });
  expect([...result.series.keys()]).toEqual([UIDS[4]]);
  expect(warnings).toEqual([expect.stringContaining('needed more than 1 MB of heap')]);
});

test("the worker's errors arrive as the classes the run tells apart", async () => {
  const notParquet = join(dir, 'not.parquet');
  await writeFile(notParquet, 'series,uid\n1,2\n');
  const bad = lookupIdcSeriesInWorker(notParquet, [UIDS[0]!], { workerUrl });
  await expect(bad).rejects.toBeInstanceOf(IdcIndexError);
  await expect(bad).rejects.toThrow(/is not a parquet file/);

  emu.faults.set({ error: { status: 403, code: 'AccessDenied', kind: 'index', count: Infinity } });
  const denied = await lookupIdcSeriesInWorker(emu.indexUrl, [UIDS[0]!], { retry: FAST, workerUrl }).catch((error: unknown) => error);
  const deniedHere = (await lookupIdcSeries(emu.indexUrl, [UIDS[0]!], { retry: FAST }).catch((error: unknown) => error)) as Error;
  expect(denied).toBeInstanceOf(IdcHttpError);
  expect(denied).toMatchObject({ status: 403, retryable: false, message: deniedHere.message });
  expect(deniedHere.message).toMatch(/403/);

  const missing = await lookupIdcSeriesInWorker(join(dir, 'absent.parquet'), [UIDS[0]!], { workerUrl }).catch((error: unknown) => error);
  expect(missing).toMatchObject({ code: 'ENOENT' });
});

test('a stopped run ends the worker at once', async () => {
  emu.faults.set({ stallAfterBytes: { bytes: 0, kind: 'index', count: Infinity } });
  const controller = new AbortController();
  const pending = lookupIdcSeriesInWorker(emu.indexUrl, [UIDS[0]!], { retry: FAST, workerUrl, signal: controller.signal });
  setTimeout(() => controller.abort(), 200);
  await expect(pending).rejects.toBeInstanceOf(AbortedError);
});

test("the worker's heap grows with the manifest", () => {
  expect(workerHeapMb(1)).toBe(41);
  expect(workerHeapMb(19_148)).toBe(60);
});
