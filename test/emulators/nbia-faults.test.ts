import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import got from 'got';
import { OUTAGE_BODY, javaBuffered, zipStream } from '../../emulators/nbia/index.js';
import { emu, get, instanceIndexes, md5, parseMd5Csv, postMetadata, start, streamBytes, UID, unzipAll, useNbiaEmulator, V1, V4, type ZipFile } from '../support/nbia-emulator-helpers.js';

useNbiaEmulator();

describe('faults', () => {
  const image = `${V4}/getImage?SeriesInstanceUID=${UID}&IncludeMD5=Yes`;

  it('failFirst answers 500 text/plain K times, then recovers, and logs each request', async () => {
    emu.faults.set({ failFirst: 2 });
    const statuses = [];
    for (let i = 0; i < 3; i++) {
      const res = await get(image);
      statuses.push(res.statusCode);
      if (res.statusCode === 500) {
        expect(res.headers['content-type']).toBe('text/plain');
        expect(res.body.toString()).toBe(OUTAGE_BODY);
        expect(res.headers['content-length']).toBe('48');
      }
    }
    expect(statuses).toEqual([500, 500, 200]);
    expect(emu.requests.map((r) => r.status)).toEqual([500, 500, 200]);
    expect(emu.requests[0]).toMatchObject({ method: 'GET', path: `${V4}/getImage`, query: { SeriesInstanceUID: UID } });
    expect(emu.faults.fired.map((f) => f.kind)).toEqual(['failFirst', 'failFirst']);
  });

  it('failFirst can be a 429 with Retry-After, scoped to one series and endpoint', async () => {
    emu.faults.set({ failFirst: { status: 429, retryAfter: 3, seriesUid: UID, endpoint: 'getImage', count: Infinity } });
    const limited = await get(image);
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBe('3');
    expect((await get(image)).statusCode).toBe(429);
    expect((await get(`${V4}/getImage?SeriesInstanceUID=1.2.3`)).statusCode).toBe(200);
    expect((await postMetadata([UID])).statusCode).toBe(200);
    emu.faults.clear();
    expect((await get(image)).statusCode).toBe(200);
  });

  it('htmlInsteadOfZip sends a Tomcat page with 200', async () => {
    emu.faults.set({ htmlInsteadOfZip: true });
    const res = await get(image);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.body.toString()).toContain('Apache Tomcat');
    expect(res.body.subarray(0, 4).toString('latin1')).not.toBe('PK\x03\x04');
    expect((await get(image)).headers['content-type']).toBe('application/octet-stream');
  });

  it('truncateAfterBytes cuts the body at exactly n bytes and drops the connection', async () => {
    emu.faults.set({ truncateAfterBytes: 5000 });
    const cut = await streamBytes(image);
    expect(cut.error).toBeDefined();
    expect(cut.bytes).toBe(5000);
    expect(emu.requests[0]?.status).toBe(200);
    const whole = await streamBytes(image);
    expect(whole.error).toBeUndefined();
    expect(whole.bytes).toBeGreaterThan(5000);
  });

  it('stallAfterBytes sends n bytes then goes silent until the client times out', async () => {
    emu.faults.set({ stallAfterBytes: { bytes: 3000, count: 1 } });
    const started = Date.now();
    const stalled = await streamBytes(image, 400);
    expect(stalled.error?.name).toBe('TimeoutError');
    expect(stalled.bytes).toBe(3000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
    expect((await streamBytes(image, 2000)).error).toBeUndefined();
  });

  it('stallAfterBytes does not keep close() waiting', async () => {
    emu.faults.set({ stallAfterBytes: 100 });
    const pending = streamBytes(image);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await emu.close();
    expect((await pending).bytes).toBe(100);
  });

  it('corruptByte breaks one entry’s MD5, every time with count Infinity', async () => {
    emu.faults.set({ corruptByte: { entryIndex: 1, count: Infinity } });
    for (let attempt = 0; attempt < 2; attempt++) {
      const files = await unzipAll((await get(image)).body);
      const hashes = parseMd5Csv(files.at(-1)?.data.toString() ?? '');
      const bad = files.slice(1, -1).filter((f) => hashes.get(f.name) !== md5(f.data));
      expect(bad.map((f) => f.name)).toEqual(['00000002.dcm']);
    }
    expect(emu.faults.remaining('corruptByte')).toBe(Infinity);
  });

  it('nonDicomEntry adds a readme among the DICOM entries', async () => {
    emu.faults.set({ nonDicomEntry: true });
    const names = (await unzipAll((await get(image)).body)).map((f) => f.name);
    expect(names.slice(0, 3)).toEqual(['LICENSE', '00000001.dcm', 'readme.txt']);
    expect(names.at(-1)).toBe('md5hashes.csv');
  });

  it("blankMd5 writes CTP's single-space hash for one entry, unquoted", async () => {
    emu.faults.set({ blankMd5: { entryIndex: 1 } });
    const files = await unzipAll((await get(image)).body);
    const hashes = parseMd5Csv(files.at(-1)?.data.toString() ?? '');
    expect(hashes.get('00000002.dcm')).toBe(' ');
    expect(hashes.get('00000001.dcm')).toBe(md5(files[1]!.data));
  });

  it("nullMetadataCell writes a NULL first cell as NBIA's quoted-CSV writer does, unbalancing that row", async () => {
    const [, normal] = (await postMetadata([UID])).body.toString().split('\n');
    const patientId = emu.spec(UID)!.patientId;
    expect(normal!.startsWith(`"${patientId}","`)).toBe(true);
    emu.faults.set({ nullMetadataCell: { column: 'PatientID' } });
    const [, row] = (await postMetadata([UID])).body.toString().split('\n');
    // `"<id>` becomes `","`: a closed empty cell and an opened one, so the row has one quote too many.
    expect(row).toBe(`","${normal!.slice(1 + patientId.length)}`);
  });
});

describe('bandwidth cap', () => {
  it('paces getImage bodies at bytesPerSecond', async () => {
    await start({ bytesPerSecond: 200_000, shape: { imagesPerSeries: [6, 6] } });
    const started = Date.now();
    const { bytes } = await streamBytes(`${V4}/getImage?SeriesInstanceUID=${UID}`);
    const expected = (bytes / 200_000) * 1000;
    expect(Date.now() - started).toBeGreaterThanOrEqual(expected * 0.8);
    expect((await get(`${V1}/getSeriesMetaData?SeriesInstanceUID=${UID}`)).statusCode).toBe(200);
  });
});

describe('zipStream', () => {
  it('takes entries from the generator only as fast as the reader consumes the zip', async () => {
    const pulled: string[] = [];
    function* entries() {
      for (let i = 0; i < 40; i++) {
        pulled.push(String(i));
        yield { name: `${i}.dcm`, data: Buffer.alloc(512 * 1024, i) };
      }
    }
    const zip = zipStream(entries(), 0)[Symbol.asyncIterator]();
    await zip.next();
    await new Promise((resolve) => setTimeout(resolve, 50));
    // A reader that stopped after one chunk holds the writer a few files (a few MB of buffers) ahead at most.
    expect(pulled.length).toBeLessThan(10);
    for (let next = await zip.next(); !next.done; next = await zip.next());
    expect(pulled).toHaveLength(40);
  });

  it("passes the body on in writes of exactly 8,192 bytes, as NBIA's BufferedOutputStream does", async () => {
    const pieces = [1, 511, 512, 9000, 300, 20000, 7].map((n, i) => Buffer.alloc(n, i + 1));
    const out: Buffer[] = [];
    for await (const block of javaBuffered((async function* () { yield* pieces; })())) out.push(block);
    // 30,331 bytes in all: three full buffers and what is left at the end.
    expect(out.map((b) => b.length)).toEqual([8192, 8192, 8192, 5755]);
    expect(Buffer.concat(out).equals(Buffer.concat(pieces))).toBe(true);
  });

  it('writes stored-block DEFLATE at level 0 that still unzips', async () => {
    await start({ deflateLevel: 0 });
    const res = await get(`${V4}/getImage?SeriesInstanceUID=${UID}`);
    const files = await unzipAll(res.body);
    expect(files[1]?.data.equals(emu.instance(UID, instanceIndexes(UID, [files[1] as ZipFile])[0] as number))).toBe(true);
    expect(res.body.length).toBeGreaterThan(files.reduce((n, f) => n + f.data.length, 0));
  });
});

describe('zip store', () => {
  const image = `${V4}/getImage?SeriesInstanceUID=${UID}&IncludeMD5=Yes`;
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nbia-zip-store-'));
    await start({ zipCacheDir: dir, shape: { imagesPerSeries: [4, 4] } });
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('stores a whole fault-free body once and serves the next request for it from the store', async () => {
    const first = await get(image);
    const stored = await readdir(dir);
    expect(stored).toEqual([`${UID}-z1-LM.zip`]);
    expect((await readFile(join(dir, stored[0] as string))).equals(first.body)).toBe(true);
    // Different bytes in the store show that the next answer came from it, not from a new build.
    await writeFile(join(dir, stored[0] as string), 'stored bytes');
    expect((await get(image)).body.toString()).toBe('stored bytes');
    // Other options make another zip (this one has no md5hashes.csv).
    const plain = await get(`${V4}/getImage?SeriesInstanceUID=${UID}`);
    expect((await unzipAll(plain.body)).map((f) => f.name)).not.toContain('md5hashes.csv');
    expect(await readdir(dir)).toHaveLength(2);
  });

  it('neither stores nor serves from the store a zip with a fault, and drops a body the client left', async () => {
    emu.faults.set({ corruptByte: { entryIndex: 0 } });
    const corrupt = await get(image);
    expect(corrupt.statusCode).toBe(200);
    expect(await readdir(dir)).toEqual([]);
    // Capped, so the body is still being written when the client goes.
    await start({ zipCacheDir: dir, shape: { imagesPerSeries: [4, 4] }, bytesPerSecond: 4_000_000 });
    const left = got.stream(`${emu.url}${image}`, { retry: { limit: 0 } });
    for await (const chunk of left as AsyncIterable<Buffer>) if (chunk.length > 0) break;
    left.destroy();
    for (let wait = 0; wait < 50 && (await readdir(dir)).length > 0; wait++) await new Promise((r) => setTimeout(r, 20));
    expect(await readdir(dir)).toEqual([]);
    const whole = await get(image);
    expect(whole.body.equals(corrupt.body)).toBe(false);
    expect(await readdir(dir)).toHaveLength(1);
  });
});
