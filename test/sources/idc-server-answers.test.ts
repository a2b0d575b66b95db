// Answers of S3-compatible servers and index hosts that differ from AWS's, and index rows that differ from the rest:
// each costs at most the series concerned, never the index or the run.
import type { Readable } from 'node:stream';
import { buildCollection } from '../../emulators/dicom/synthetic-series.js';
import { startIdcEmulator, type IdcEmulator, type IdcEmulatorOptions } from '../../emulators/idc/index.js';
import { isRetryable } from '../../src/retry.js';
import { parseS3Error } from '../../src/sources/idc/errors.js';
import { lookupIdcSeries } from '../../src/sources/idc/index-reader.js';
import { listingShortfall } from '../../src/sources/idc/listing-check.js';
import { IdcS3Client } from '../../src/sources/idc/s3-client.js';

const UIDS = Array.from({ length: 6 }, (_, i) => `1.3.6.1.4.1.14519.5.2.1.77.${3000 + i}`);
const collection = buildCollection(UIDS, { imagesPerSeries: [3, 5] });
const FAST = { attempts: 3, baseDelayMs: 5, maxDelayMs: 20 };
let emu: IdcEmulator | undefined;
afterEach(async () => emu?.close());

async function start(options: Partial<IdcEmulatorOptions> = {}): Promise<IdcEmulator> {
  emu = await startIdcEmulator({ collection, ...options });
  return emu;
}

const client = (idc: IdcEmulator): IdcS3Client => new IdcS3Client({ endpoint: idc.url, retry: FAST, stallTimeoutMs: 300 });

async function drain(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

test("a listing that escapes the ETag's quotes as Go does (&#34;) gives the same MD5 ETags as AWS's &quot;", async () => {
  const idc = await start({ xmlEscapes: 'go' });
  const entry = idc.entry(UIDS[0]!)!;
  const raw = await (await fetch(`${idc.url}/${entry.bucket}?list-type=2&prefix=${entry.seriesUuid}/`)).text();
  expect(raw).toContain('<ETag>&#34;');
  const listed = await client(idc).listSeries(entry.bucket, entry.seriesUuid);
  expect(listed.map((o) => o.etag)).toEqual(idc.objects(UIDS[0]!).map((o) => o.etag));
  expect(listed[0]!.etag).toMatch(/^"[0-9a-f]{32}"$/);
  // The object itself is then fetched with an If-Match the server accepts.
  expect(await drain(client(idc).openObject(listed[0]!))).toHaveLength(listed[0]!.size);
  expect(parseS3Error('<Error><Code>NoSuchKey</Code><Message>key &#34;a&#x26;b&#34; is gone</Message></Error>')).toEqual({ code: 'NoSuchKey', message: 'key "a&b" is gone' });
});

test('a 412 on an object (replaced after listing) is not sent again as is, but is worth a new attempt of the series', async () => {
  const idc = await start();
  const entry = idc.entry(UIDS[1]!)!;
  const [ref] = await client(idc).listSeries(entry.bucket, entry.seriesUuid);
  const error = await drain(client(idc).openObject({ ...ref!, etag: '"0123456789abcdef0123456789abcdef"' })).catch((e: unknown) => e);
  expect(error).toMatchObject({ status: 412, s3Code: 'PreconditionFailed' });
  expect(idc.requests.filter((r) => r.key === ref!.key)).toHaveLength(1);
  expect([isRetryable(error, 'request'), isRetryable(error)]).toEqual([false, true]);
});

test('a NULL series_aws_url costs only its own series: the others are found, it is reported as unlocated', async () => {
  const idc = await start({ unlocatedUids: [UIDS[2]!] });
  const result = await lookupIdcSeries(idc.indexUrl, UIDS.slice(0, 4), { retry: FAST });
  expect([...result.series.keys()].sort()).toEqual([UIDS[0], UIDS[1], UIDS[3]].sort());
  expect(result.unlocated).toEqual([UIDS[2]]);
});

test('an index host with a weak ETag is read without If-Match (which never matches one), each range checked against it', async () => {
  const idc = await start({ weakIndexEtag: true });
  expect(idc.indexEtag()).toMatch(/^W\//);
  const result = await lookupIdcSeries(idc.indexUrl, [UIDS[4]!], { retry: FAST });
  expect([...result.series.keys()]).toEqual([UIDS[4]]);
  expect(result.etag).toBe(idc.indexEtag());
  expect(idc.requests.filter((r) => r.bucket === 'idc-index-data-artifacts').every((r) => r.status === 200 || r.status === 206)).toBe(true);
});

test('a 412 from the index host says the index changed while read, not that it is not a parquet file', async () => {
  const idc = await start();
  idc.faults.set({ error: { status: 412, code: 'PreconditionFailed', kind: 'index', method: 'GET', count: Infinity } });
  const error = await lookupIdcSeries(idc.indexUrl, [UIDS[0]!], { retry: FAST }).then(() => undefined, (e: unknown) => e as Error);
  expect(error?.message).toMatch(/the IDC index changed while it was being read; run again/);
  expect(error?.message).not.toMatch(/not a parquet file/);
});

test('a listing is short of series_size_MB only beyond the column’s rounding (10^6 bytes, two decimals)', () => {
  const sized = (...sizes: number[]): { size: number }[] => sizes.map((size) => ({ size }));
  // 1.23 MB published for 1,234,999 bytes (rounded down) or 1,225,000 (rounded up): neither is short.
  expect(listingShortfall(sized(1_234_999), 1.23)).toBe(0);
  expect(listingShortfall(sized(600_000, 625_000), 1.23)).toBe(0);
  // One 200 kB instance gone from a 1.23 MB series is.
  expect(listingShortfall(sized(1_030_000), 1.23)).toBe(200_000);
  // A row without a size (NULL, read as 0) never makes a listing short.
  expect(listingShortfall(sized(5), 0)).toBe(0);
});
