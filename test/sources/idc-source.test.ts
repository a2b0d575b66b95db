import { createHash } from 'node:crypto';
import { setImmediate as tick } from 'node:timers/promises';
import type { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { buildCollection } from '../../emulators/dicom/synthetic-series.js';
import { startIdcEmulator, type IdcEmulator } from '../../emulators/idc/index.js';
import { IdcSource } from '../../src/sources/idc/idc-source.js';
import { lookupIdcSeries } from '../../src/sources/idc/index-reader.js';
import { IdcLimiter } from '../../src/sources/idc/limiter.js';
import { IdcS3Client } from '../../src/sources/idc/s3-client.js';
import type { SourceFile } from '../../src/sources/types.js';

const UIDS = Array.from({ length: 4 }, (_, i) => `1.3.6.1.4.1.14519.5.2.1.42.${4000 + i}`);
const collection = buildCollection(UIDS, { imagesPerSeries: [12, 12] });
const FAST = { attempts: 4, baseDelayMs: 5, maxDelayMs: 40 };
let emu: IdcEmulator;

beforeEach(async () => {
  emu = await startIdcEmulator({ collection, staleUids: [UIDS[3]!] });
});
afterEach(async () => emu.close());

async function source(limiter: IdcLimiter): Promise<IdcSource> {
  const { series } = await lookupIdcSeries(emu.indexUrl, UIDS, { retry: FAST });
  return new IdcSource({ lookup: series, s3: new IdcS3Client({ endpoint: emu.url, retry: FAST }), limiter, retry: FAST, publishedMd5: async () => undefined });
}

/** The limiter, watched: the most connections and fetched-ahead bytes it ever had in use. */
function watched(connections: number, aheadBytes: number): { limiter: IdcLimiter; peak: { connections: number; aheadBytes: number } } {
  const limiter = new IdcLimiter(connections, aheadBytes);
  const peak = { connections: 0, aheadBytes: 0 };
  const note = (): void => {
    const now = limiter.usage();
    peak.connections = Math.max(peak.connections, now.connections);
    peak.aheadBytes = Math.max(peak.aheadBytes, now.aheadBytes);
  };
  const tryAhead = limiter.tryAhead.bind(limiter);
  limiter.tryAhead = (bytes) => {
    const grant = tryAhead(bytes);
    note();
    return grant;
  };
  const connection = limiter.connection.bind(limiter);
  limiter.connection = async (signal) => {
    const release = await connection(signal);
    note();
    return release;
  };
  return { limiter, peak };
}

test('a series comes in listing order, each file the object its check list names, verified by MD5', async () => {
  const idc = await source(new IdcLimiter(8, 64 * 1024 * 1024));
  const series = (await idc.open(UIDS[0]!, new AbortController().signal))!;
  expect(series.verified).toBe('md5');
  const names: string[] = [];
  for await (const file of series.files(new AbortController().signal)) {
    const bytes = await buffer(plain(file));
    const object = emu.objects(UIDS[0]!)[names.length]!;
    expect(file.name).toBe(object.key.split('/')[1]);
    expect(bytes.equals(emu.instance(UIDS[0]!, object.index))).toBe(true);
    // The MD5 its object stream has matched the bytes against, which the relay then takes instead of hashing again.
    expect(file.md5).toBe(createHash('md5').update(bytes).digest('hex'));
    names.push(file.name);
  }
  const list = await series.checkList(new Map());
  expect(names).toEqual([...list.checks.keys()]);
  expect([...list.checks.values()].every((c) => c.kind === 'md5')).toBe(true);
});

test('open resolves undefined for a series the index lacks and for one whose listing is empty', async () => {
  const idc = await source(new IdcLimiter(8, 1e6));
  const signal = new AbortController().signal;
  expect(await idc.open(UIDS[3]!, signal)).toBeUndefined();
  expect(await idc.open('1.2.3.4.not.in.idc', signal)).toBeUndefined();
});

test('series share one limiter: connections and fetched-ahead bytes stay within it, yet files are fetched ahead', async () => {
  const size = Math.max(...UIDS.slice(0, 3).flatMap((uid) => emu.objects(uid).map((o) => o.size)));
  const budget = Math.floor(size * 2.5);
  const { limiter, peak } = watched(3, budget);
  const idc = await source(limiter);
  const signal = new AbortController().signal;
  const drain = async (uid: string): Promise<number> => {
    const series = (await idc.open(uid, signal))!;
    let n = 0;
    for await (const file of series.files(signal)) {
      await buffer(plain(file));
      // A slow consumer: the next files have time to be fetched ahead.
      for (let i = 0; i < 20; i++) await tick();
      n++;
    }
    return n;
  };
  const counts = await Promise.all(UIDS.slice(0, 3).map(drain));
  expect(counts).toEqual([12, 12, 12]);
  expect(peak.connections).toBeLessThanOrEqual(3);
  expect(peak.aheadBytes).toBeLessThanOrEqual(budget);
  expect(peak.aheadBytes).toBeGreaterThan(0);
  expect(limiter.usage()).toEqual({ connections: 0, aheadBytes: 0 });
});

/** IDC serves objects as they are, never still compressed. */
function plain(file: SourceFile): Readable {
  if (!file.body) throw new Error(`${file.name} came compressed`);
  return file.body;
}
