import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import got from 'got';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { buildCollection, makeInstance } from '../../emulators/dicom/synthetic-series.js';
import { IDC_BUCKETS, indexParquetFor, IdcCatalog, s3Etag, startIdcEmulator, type IdcEmulator } from '../../emulators/idc/index.js';
import { startNbiaEmulator } from '../../emulators/nbia/index.js';

const UIDS = Array.from({ length: 12 }, (_, i) => `1.3.6.1.4.1.14519.5.2.1.99.${1000 + i}`);
const collection = buildCollection(UIDS, { imagesPerSeries: [5, 9] });
let emu: IdcEmulator;

beforeEach(async () => {
  emu = await startIdcEmulator({ collection, pageLimit: 3, indexRowGroupSize: 4, staleUids: [UIDS[11]!] });
});
afterEach(async () => {
  await emu.close();
});

function get(url: string, headers: Record<string, string> = {}) {
  return got(url, { headers, throwHttpErrors: false, retry: { limit: 0 }, responseType: 'buffer', decompress: false });
}

function first(uid: string) {
  const entry = emu.entry(uid)!;
  const object = emu.objects(uid)[0]!;
  return { entry, object, url: `${emu.url}/${entry.bucket}/${object.key}` };
}

test('the index is a ZSTD parquet with IDC’s six columns, several row groups and s3:// series URLs', async () => {
  const bytes = (await get(emu.indexUrl)).body;
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer;
  const meta = parquetMetadata(file);
  expect(meta.schema.slice(1).map((s) => s.name)).toEqual(['collection_id', 'PatientID', 'StudyInstanceUID', 'SeriesInstanceUID', 'series_size_MB', 'series_aws_url']);
  expect(meta.row_groups.length).toBe(3);
  expect(new Set(meta.row_groups.flatMap((g) => g.columns.map((c) => c.meta_data?.codec)))).toEqual(new Set(['ZSTD']));
  const rows = await parquetReadObjects({ file, compressors });
  expect(rows).toHaveLength(12);
  const e = emu.entry(UIDS[3]!)!;
  expect(rows[3]).toMatchObject({ collection_id: 'cmb_crc', PatientID: e.spec.patientId, StudyInstanceUID: e.spec.studyUid, series_aws_url: `s3://${e.bucket}/${e.seriesUuid}/*` });
  expect(IDC_BUCKETS).toContain(e.bucket);
});

test('the index answers HEAD, Range and If-None-Match like a static host', async () => {
  const head = await got.head(emu.indexUrl, { throwHttpErrors: false });
  expect(head.statusCode).toBe(200);
  const etag = head.headers.etag!;
  const size = Number(head.headers['content-length']);
  const tail = await get(emu.indexUrl, { range: 'bytes=-4' });
  expect(tail.statusCode).toBe(206);
  expect(tail.headers['content-range']).toBe(`bytes ${size - 4}-${size - 1}/${size}`);
  expect(tail.body.toString('latin1')).toBe('PAR1');
  expect((await get(emu.indexUrl, { 'if-none-match': etag })).statusCode).toBe(304);
  emu.publishIndex(await indexParquetFor(new IdcCatalog(collection.slice(0, 2)).entries()));
  expect((await get(emu.indexUrl, { 'if-none-match': etag })).statusCode).toBe(200);
});

test('objects carry the bytes the NBIA emulator zips, with their MD5 as ETag, for GET, HEAD and Range', async () => {
  const nbia = await startNbiaEmulator({ collection });
  try {
    const { object, url } = first(UIDS[0]!);
    const whole = await get(url);
    expect(whole.statusCode).toBe(200);
    expect(whole.body.equals(nbia.instance(UIDS[0]!, object.index))).toBe(true);
    expect(whole.headers.etag).toBe(`"${createHash('md5').update(whole.body).digest('hex')}"`);
    const head = await got.head(url, { throwHttpErrors: false });
    expect(Number(head.headers['content-length'])).toBe(object.size);
    const part = await get(url, { range: 'bytes=128-131' });
    expect([part.statusCode, part.body.toString('latin1')]).toEqual([206, 'DICM']);
    expect((await get(url, { range: `bytes=${object.size}-` })).statusCode).toBe(416);
    expect((await get(url, { 'if-match': '"0123"' })).statusCode).toBe(412);
  } finally {
    await nbia.close();
  }
});

test('large objects get a multipart ETag that is not their MD5', () => {
  const bytes = makeInstance(collection[0]!, 0);
  expect(s3Etag(bytes, 1024)).toMatch(new RegExp(`^"[0-9a-f]{32}-${Math.ceil(bytes.length / 1024)}"$`));
  expect(s3Etag(bytes)).toBe(`"${createHash('md5').update(bytes).digest('hex')}"`);
});

test('ListObjectsV2 pages at the page limit with continuation tokens, path-style and virtual-hosted', async () => {
  const { entry } = first(UIDS[1]!);
  const expected = emu.objects(UIDS[1]!).map((o) => o.key);
  const keys: string[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const query = `list-type=2&prefix=${entry.seriesUuid}/${token ? `&continuation-token=${encodeURIComponent(token)}` : ''}`;
    // Odd pages ask by Host header, as AWS's virtual-hosted addressing does.
    const reply = pages % 2 === 0 ? await get(`${emu.url}/${entry.bucket}?${query}`) : await get(`${emu.url}/?${query}`, { host: `${entry.bucket}.s3.amazonaws.com` });
    const text = reply.body.toString('utf8');
    keys.push(...[...text.matchAll(/<Key>([^<]+)<\/Key>/g)].map((m) => m[1]!));
    token = /<NextContinuationToken>([^<]+)</.exec(text)?.[1];
    expect(text).toContain(`<IsTruncated>${token ? 'true' : 'false'}</IsTruncated>`);
    pages++;
  } while (token);
  expect(keys).toEqual(expected);
  expect(pages).toBe(Math.ceil(expected.length / 3));
  expect(emu.requests.some((r) => r.virtualHost)).toBe(true);
});

test('a stale series lists empty; unknown keys and buckets are S3 XML errors', async () => {
  const stale = emu.entry(UIDS[11]!)!;
  const empty = (await get(`${emu.url}/${stale.bucket}?list-type=2&prefix=${stale.seriesUuid}/`)).body.toString();
  expect(empty).toContain('<KeyCount>0</KeyCount>');
  expect(empty).not.toContain('<Contents>');
  const noKey = await get(`${emu.url}/${stale.bucket}/${stale.seriesUuid}/x.dcm`);
  expect([noKey.statusCode, /<Code>(\w+)<\/Code>/.exec(noKey.body.toString())?.[1]]).toEqual([404, 'NoSuchKey']);
  const noBucket = await get(`${emu.url}/no-such-bucket/x`);
  expect([noBucket.statusCode, /<Code>(\w+)<\/Code>/.exec(noBucket.body.toString())?.[1]]).toEqual([404, 'NoSuchBucket']);
});

test('faults: SlowDown, reset, truncation, stall and one corrupt byte fire once each where scoped', async () => {
  const { object, url, entry } = first(UIDS[2]!);
  const original = emu.instance(UIDS[2]!, object.index);
  emu.faults.set({ error: { keyPrefix: `${entry.seriesUuid}/`, retryAfter: 1 } });
  const slow = await get(url);
  expect([slow.statusCode, slow.headers['retry-after'], /<Code>(\w+)</.exec(slow.body.toString())?.[1]]).toEqual([503, '1', 'SlowDown']);
  expect((await get(url)).statusCode).toBe(200);

  emu.faults.set({ reset: 1 });
  await expect(get(url)).rejects.toMatchObject({ code: 'ECONNRESET' });

  emu.faults.set({ truncateAfterBytes: 100 });
  await expect(get(url)).rejects.toThrow();

  emu.faults.set({ corruptByte: 1 });
  const corrupt = (await get(url)).body;
  expect(corrupt.length).toBe(original.length);
  expect(corrupt.subarray(0, -1).equals(original.subarray(0, -1))).toBe(true);
  expect(corrupt.at(-1)).not.toBe(original.at(-1));

  emu.faults.set({ stallAfterBytes: 10 });
  await expect(got(url, { retry: { limit: 0 }, timeout: { socket: 300 } })).rejects.toMatchObject({ code: 'ETIMEDOUT' });
  expect(emu.faults.fired.map((f) => f.kind)).toEqual(['error', 'reset', 'truncateAfterBytes', 'corruptByte', 'stallAfterBytes']);
});

describe('object store', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'idc-object-store-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps each object and its ETag once listed, and a later emulator serves them from the store', async () => {
    const uid = UIDS[2]!;
    const filling = await startIdcEmulator({ collection, objectCacheDir: dir });
    const listed = filling.objects(uid);
    const direct = listed.map((o) => filling.instance(uid, o.index));
    await filling.close();
    const serving = await startIdcEmulator({ collection, objectCacheDir: dir });
    try {
      expect(serving.objects(uid)).toEqual(listed);
      const object = listed[1]!;
      const url = `${serving.url}/${serving.entry(uid)!.bucket}/${object.key}`;
      const whole = await get(url);
      expect([whole.statusCode, whole.headers.etag, whole.body.equals(direct[1]!)]).toEqual([200, object.etag, true]);
      expect((await get(url, { range: 'bytes=128-131' })).body.toString('latin1')).toBe('DICM');
      // Other bytes in the store show that the answer comes from it, not from a new build.
      const file = join(dir, 'objects', object.key);
      const changed = Buffer.from(direct[1]!);
      changed[200] = (changed[200] as number) ^ 0xff;
      await writeFile(file, changed);
      expect((await get(url)).body.equals(changed)).toBe(true);
      // Faults still apply to stored objects.
      serving.faults.set({ corruptByte: 1 });
      expect((await get(url)).body.equals(changed)).toBe(false);
    } finally {
      await serving.close();
    }
  });

  it('names only objects whose body it holds', async () => {
    const filling = await startIdcEmulator({ collection, objectCacheDir: dir });
    filling.objects(UIDS[0]!);
    await filling.close();
    const lines = (await readFile(join(dir, 'etags.tsv'), 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(collection[0]!.imageCount);
    for (const line of lines) {
      const [key, etag] = line.split('\t');
      const body = await readFile(join(dir, 'objects', key!));
      expect(etag).toBe(`"${createHash('md5').update(body).digest('hex')}"`);
    }
    expect((await readdir(join(dir, 'objects'), { recursive: true })).filter((f) => f.endsWith('.partial'))).toEqual([]);
  });
});
