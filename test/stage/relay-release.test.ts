/**
 * A long run moves thousands of series; nothing of a finished one may stay in memory. got never destroys a
 * download read to its end, and until it is destroyed it keeps its abort listener, which the run's signal (through
 * AbortSignal.any) keeps alive, request and all: some 15 KB a series, over 1 GB by series 9,500. So every download
 * the relay has finished with must be collectable, whether its series succeeded or failed.
 */
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import pino from 'pino';
import { NbiaClient } from '../../src/tcia/nbia-client.js';
import { relaySeries, type StartUpload } from '../../src/transfer/relay-series.js';
import { seriesSpecFromUid, startNbiaEmulator, type NbiaEmulator } from '../../emulators/nbia/index.js';

const SHAPE = { imagesPerSeries: [2, 2] as [number, number], rows: 16, columns: 16, modalities: ['CT'] };
const SERIES = 40;
let nbia: NbiaEmulator;

beforeAll(async () => {
  nbia = await startNbiaEmulator({ shape: SHAPE });
});
afterAll(async () => nbia.close());

/**
 * The collector, which the suite's node does not expose by itself. The flag is turned off again at once: every
 * context made while it is on (the next test file's, in this worker) would get a global gc it cannot delete.
 */
function collector(): () => void {
  setFlagsFromString('--expose-gc');
  try {
    return runInNewContext('gc') as () => void;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
}

/** An upload that reads the zip to its end and keeps nothing. */
const sink: StartUpload = async (zip) => {
  await pipeline(zip, new Writable({ write: (_chunk: Buffer, _encoding, done) => done() }));
  return '/data/prearchive/projects/P/20260101_000000000/S';
};

it(`keeps none of ${SERIES} finished downloads, as the run's signal lives on`, async () => {
  const gc = collector();
  const client = new NbiaClient({ root: nbia.url, logger: pino({ level: 'silent' }), stallTimeoutMs: 30_000, attempts: 1 });
  // The run's signal: alive for the whole run, as in src/run.ts.
  const run = new AbortController();
  const downloads: WeakRef<object>[] = [];
  const relayOne = async (uid: string): Promise<number> => {
    const spec = seriesSpecFromUid(uid, SHAPE);
    const download = await client.openSeries(uid, run.signal);
    downloads.push(new WeakRef(download));
    const { stats } = await relaySeries(download, { seriesUid: uid, studyUid: spec.studyUid, imageCount: spec.imageCount }, sink, run.signal);
    return stats.files - spec.imageCount;
  };
  for (let i = 0; i < SERIES; i++) expect(await relayOne(`1.3.6.1.4.1.14519.5.2.1.77.${i}`)).toBe(0);
  // A few rounds: an object whose listener goes in one is freed in the next.
  for (let round = 0; round < 3; round++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    gc();
  }
  expect(downloads.filter((ref) => ref.deref() !== undefined)).toHaveLength(0);
  expect(run.signal.aborted).toBe(false);
});
