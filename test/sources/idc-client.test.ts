import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { buildCollection } from '../../emulators/dicom/synthetic-series.js';
import { IdcCatalog, indexParquetFor, startIdcEmulator, type IdcEmulator } from '../../emulators/idc/index.js';
import { IdcHttpError, IdcVerifyError } from '../../src/sources/idc/errors.js';
import { lookupIdcSeries, parseSeriesAwsUrl } from '../../src/sources/idc/index-reader.js';
import { objectCheck, type S3ObjectRef } from '../../src/sources/idc/object-stream.js';
import { IdcS3Client } from '../../src/sources/idc/s3-client.js';

const UIDS = Array.from({ length: 40 }, (_, i) => `1.3.6.1.4.1.14519.5.2.1.77.${2000 + i}`);
const collection = buildCollection(UIDS, { imagesPerSeries: [6, 9] });
const FAST = { attempts: 4, baseDelayMs: 5, maxDelayMs: 40 };
let emu: IdcEmulator;
let cacheDir: string;

beforeEach(async () => {
  emu = await startIdcEmulator({ collection, pageLimit: 4, indexRowGroupSize: 8, staleUids: [UIDS[39]!] });
  cacheDir = await mkdtemp(join(tmpdir(), 'xtd-idc-'));
});
afterEach(async () => {
  await emu.close();
  await rm(cacheDir, { recursive: true, force: true });
});

function client(): IdcS3Client {
  return new IdcS3Client({ endpoint: emu.url, retry: FAST, stallTimeoutMs: 300 });
}

async function drain(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function refs(uid: string): Promise<S3ObjectRef[]> {
  const entry = emu.entry(uid)!;
  return client().listSeries(entry.bucket, entry.seriesUuid);
}

describe('index lookup', () => {
  test('finds the wanted UIDs over HTTP and reads only the row groups that hold them', async () => {
    const wanted = [UIDS[2]!, UIDS[30]!, '1.2.3.not.in.idc'];
    const result = await lookupIdcSeries(emu.indexUrl, wanted, { cacheDir, retry: FAST });
    expect([...result.series.keys()].sort()).toEqual([UIDS[2], UIDS[30]].sort());
    const e = emu.entry(UIDS[30]!)!;
    expect(result.series.get(UIDS[30]!)).toEqual({
      bucket: e.bucket, seriesUuid: e.seriesUuid, studyUid: e.spec.studyUid, patientId: e.spec.patientId, collection: 'cmb_crc',
      sizeMB: expect.any(Number),
    });
    expect(result.rows).toBe(40);
    expect(result.etag).toBe(emu.indexEtag());
    expect(emu.requests.filter((r) => r.method === 'GET' && r.bucket === 'idc-index-data-artifacts').every((r) => r.range?.startsWith('bytes='))).toBe(true);
  });

  test('reads the UID column and only the row groups holding a wanted UID, not the whole file', async () => {
    const many = buildCollection(Array.from({ length: 6000 }, (_, i) => `1.3.6.1.4.1.14519.5.2.1.78.${i}`));
    const path = join(cacheDir, 'big.parquet');
    await writeFile(path, await indexParquetFor(new IdcCatalog(many).entries(), { rowGroupSize: 500 }));
    await emu.close();
    emu = await startIdcEmulator({ collection: many.slice(0, 1), indexFile: path });
    const result = await lookupIdcSeries(emu.indexUrl, [many[4321]!.seriesUid], { retry: FAST });
    expect(result.series.get(many[4321]!.seriesUid)?.patientId).toBe(many[4321]!.patientId);
    const size = Number((await fetch(emu.indexUrl, { method: 'HEAD' })).headers.get('content-length'));
    expect(result.bytesFetched).toBeLessThan(size * 0.6);
  });

  test('a rerun revalidates with If-None-Match and fetches nothing; a new release is fetched again', async () => {
    await lookupIdcSeries(emu.indexUrl, [UIDS[5]!], { cacheDir, retry: FAST });
    const before = emu.requests.length;
    const again = await lookupIdcSeries(emu.indexUrl, [UIDS[5]!], { cacheDir, retry: FAST });
    expect(again.bytesFetched).toBe(0);
    expect(emu.requests.slice(before).map((r) => [r.method, r.status])).toEqual([['HEAD', 304]]);
    emu.publishIndex(await indexParquetFor(new IdcCatalog(collection.slice(0, 10)).entries()));
    const fresh = await lookupIdcSeries(emu.indexUrl, [UIDS[5]!, UIDS[20]!], { cacheDir, retry: FAST });
    expect(fresh.bytesFetched).toBeGreaterThan(0);
    expect([...fresh.series.keys()]).toEqual([UIDS[5]]);
  });

  test('reads a local file the same way, and rejects a parquet that is not the index', async () => {
    const path = join(cacheDir, 'index.parquet');
    await writeFile(path, await indexParquetFor(new IdcCatalog(collection).entries(), { rowGroupSize: 7 }));
    const local = await lookupIdcSeries(path, [UIDS[0]!]);
    expect(local.series.get(UIDS[0]!)?.seriesUuid).toBe(emu.entry(UIDS[0]!)!.seriesUuid);
    expect(local.etag).toBeUndefined();
    expect(parseSeriesAwsUrl('s3://idc-open-data/abc-def/*')).toEqual({ bucket: 'idc-open-data', seriesUuid: 'abc-def' });
    expect(parseSeriesAwsUrl('https://x/y')).toBeUndefined();
  });
});

describe('S3 client', () => {
  test('lists a series across pages in key order; a stale series lists empty', async () => {
    const list = await refs(UIDS[1]!);
    expect(list.map((o) => o.key)).toEqual(emu.objects(UIDS[1]!).map((o) => o.key));
    expect(emu.requests.filter((r) => r.key === '' && r.query['list-type'] === '2').length).toBe(Math.ceil(list.length / 4));
    expect(await refs(UIDS[39]!)).toEqual([]);
  });

  test('addresses AWS virtual-hosted by default and a given endpoint path-style', () => {
    expect(new IdcS3Client().url('idc-open-data', 'a/b c.dcm')).toBe('https://idc-open-data.s3.amazonaws.com/a/b%20c.dcm');
    expect(new IdcS3Client({ endpoint: 'http://mirror:9000/' }).url('idc-open-data', 'a/b.dcm')).toBe('http://mirror:9000/idc-open-data/a/b.dcm');
  });

  test.each([
    ['503 SlowDown', { error: { retryAfter: 0 } }],
    ['a reset', { reset: 1 }],
    ['a truncated body', { truncateAfterBytes: 1000 }],
    ['a stalled body', { stallAfterBytes: 1000 }],
  ])('an object survives %s byte-identical', async (_name, fault) => {
    const [ref] = await refs(UIDS[3]!);
    const index = emu.objects(UIDS[3]!)[0]!.index;
    emu.faults.set(fault);
    const bytes = await drain(client().openObject(ref!));
    expect(bytes.equals(emu.instance(UIDS[3]!, index))).toBe(true);
    expect(emu.faults.remaining()).toBe(0);
  });

  test('a cut body resumes with a Range request pinned to the ETag, not a refetch', async () => {
    const [ref] = await refs(UIDS[4]!);
    emu.faults.set({ truncateAfterBytes: 2000 });
    await drain(client().openObject(ref!));
    const gets = emu.requests.filter((r) => r.key === ref!.key);
    expect(gets.map((r) => r.range)).toEqual([undefined, 'bytes=2000-']);
  });

  test('one corrupt byte fails the MD5 check instead of ending the stream; a refetch is clean', async () => {
    const [ref] = await refs(UIDS[5]!);
    expect(objectCheck(ref!)).toBe('md5');
    emu.faults.set({ corruptByte: 1 });
    await expect(drain(client().openObject(ref!))).rejects.toBeInstanceOf(IdcVerifyError);
    await expect(drain(client().openObject(ref!))).resolves.toHaveLength(ref!.size);
  });

  test('a multipart ETag is checked by length', async () => {
    await emu.close();
    emu = await startIdcEmulator({ collection, partSize: 4096 });
    const [ref] = await refs(UIDS[6]!);
    expect(ref!.etag).toMatch(/-\d+"$/);
    expect(objectCheck(ref!)).toBe('size');
    await expect(drain(client().openObject(ref!))).resolves.toHaveLength(ref!.size);
    await expect(drain(client().openObject({ ...ref!, size: ref!.size + 1 }))).rejects.toThrow(/has \d+ bytes, its listing says/);
  });

  test('NoSuchKey is an S3 error, not retried', async () => {
    const [ref] = await refs(UIDS[7]!);
    const error = await drain(client().openObject({ ...ref!, key: `${ref!.key}.gone` })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IdcHttpError);
    expect(error).toMatchObject({ status: 404, s3Code: 'NoSuchKey', retryable: false });
    expect(emu.requests.filter((r) => r.key.endsWith('.gone'))).toHaveLength(1);
  });

  test('SlowDown that outlasts the retries surfaces as a retryable S3 error', async () => {
    const [ref] = await refs(UIDS[8]!);
    emu.faults.set({ error: { count: Infinity, retryAfter: 0 } });
    await expect(drain(client().openObject(ref!))).rejects.toMatchObject({ status: 503, s3Code: 'SlowDown', retryable: true });
    expect(emu.requests.filter((r) => r.key === ref!.key)).toHaveLength(FAST.attempts);
  });

  test('reads the plan’s header fields from the first instance with a Range GET', async () => {
    const e = emu.entry(UIDS[9]!)!;
    const header = await client().readSeriesHeader(e.bucket, e.seriesUuid);
    expect(header).toMatchObject({ patientId: e.spec.patientId, patientName: e.spec.patientName, studyDate: e.spec.studyDate, studyUid: e.spec.studyUid, seriesUid: UIDS[9] });
    expect(emu.requests.filter((r) => r.key !== '').map((r) => r.range)).toEqual(['bytes=0-' + (emu.objects(UIDS[9]!)[0]!.size - 1)]);
    // One listing page of one key, however many pages the whole series would take.
    expect(emu.requests.filter((r) => r.key === '' && r.bucket === e.bucket)).toHaveLength(1);
  });
});
