import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import got from 'got';
import unzip from 'unzip-stream';
import {
  OUTAGE_BODY,
  V1_METADATA_COLUMNS,
  V4_METADATA_COLUMNS,
  buildCollection,
  seriesByteSize,
  sopInstanceUid,
  startNbiaEmulator,
  type NbiaEmulator,
  type NbiaEmulatorOptions,
  javaBuffered,
  zipStream,
} from '../../emulators/nbia/index.js';

const UID = '1.3.6.1.4.1.14519.5.2.1.200342509692530171737702339931600829926';
const V4 = '/nbia-api/services/v4';
const V1 = '/nbia-api/services/v1';

interface ZipFile {
  name: string;
  data: Buffer;
}

let emu: NbiaEmulator;

async function start(options?: NbiaEmulatorOptions): Promise<NbiaEmulator> {
  await emu?.close();
  emu = await startNbiaEmulator(options);
  return emu;
}

beforeEach(async () => {
  await start();
});

afterEach(async () => {
  await emu.close();
});

interface Reply {
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A GET that neither retries nor throws on HTTP errors, so tests see exactly what the emulator sent. */
function get(path: string): Promise<Reply> {
  return got(`${emu.url}${path}`, { throwHttpErrors: false, retry: { limit: 0 }, responseType: 'buffer' });
}

function postMetadata(list: string[]): Promise<Reply> {
  return got.post(`${emu.url}${V4}/getSeriesMetadata`, {
    throwHttpErrors: false,
    retry: { limit: 0 },
    responseType: 'buffer',
    form: { list: list.join(',') },
  });
}

async function unzipAll(body: Buffer): Promise<ZipFile[]> {
  const files: Promise<ZipFile>[] = [];
  const parser = unzip.Parse();
  parser.on('entry', (entry: unzip.Entry) => {
    files.push(
      (async () => {
        const chunks: Buffer[] = [];
        for await (const chunk of entry as AsyncIterable<Buffer>) chunks.push(chunk);
        return { name: entry.path, data: Buffer.concat(chunks) };
      })(),
    );
  });
  await pipeline(Readable.from([body]), parser);
  return Promise.all(files);
}

/** General-purpose flags of every local and central header, read from the central directory. */
function zipFlags(body: Buffer): { name: string; local: number; central: number; localSizes: number[] }[] {
  const eocd = body.length - 22;
  expect(body.readUInt32LE(eocd)).toBe(0x06054b50);
  const count = body.readUInt16LE(eocd + 10);
  let p = body.readUInt32LE(eocd + 16);
  const out = [];
  for (let i = 0; i < count; i++) {
    expect(body.readUInt32LE(p)).toBe(0x02014b50);
    const nameLength = body.readUInt16LE(p + 28);
    const offset = body.readUInt32LE(p + 42);
    expect(body.readUInt32LE(offset)).toBe(0x04034b50);
    out.push({
      name: body.subarray(p + 46, p + 46 + nameLength).toString('utf8'),
      central: body.readUInt16LE(p + 8),
      local: body.readUInt16LE(offset + 6),
      localSizes: [body.readUInt32LE(offset + 14), body.readUInt32LE(offset + 18), body.readUInt32LE(offset + 22)],
    });
    p += 46 + nameLength + body.readUInt16LE(p + 30) + body.readUInt16LE(p + 32);
  }
  return out;
}

const md5 = (data: Buffer): string => createHash('md5').update(data).digest('hex');

function parseMd5Csv(text: string): Map<string, string> {
  const lines = text.split('\n');
  expect(lines[0]).toBe('Filename,MD5Hash');
  expect(lines.at(-1)).toBe('');
  return new Map(lines.slice(1, -1).map((l) => l.split(',') as [string, string]));
}

/** Which instance index each DICOM entry holds, matched by content. */
function instanceIndexes(uid: string, files: ZipFile[]): number[] {
  const spec = emu.spec(uid);
  if (!spec) throw new Error('unknown series');
  const byHash = new Map(Array.from({ length: spec.imageCount }, (_, i) => [md5(emu.instance(uid, i)), i]));
  return files.map((f) => byHash.get(md5(f.data)) ?? -1);
}

/** Reads a download as a stream until it ends or fails, counting body bytes. */
async function streamBytes(path: string, socketTimeout?: number): Promise<{ bytes: number; error?: Error }> {
  let bytes = 0;
  try {
    const stream = got.stream(`${emu.url}${path}`, { retry: { limit: 0 }, timeout: { socket: socketTimeout } });
    for await (const chunk of stream as AsyncIterable<Buffer>) bytes += chunk.length;
    return { bytes };
  } catch (error) {
    return { bytes, error: error as Error };
  }
}

describe('v4 getImage', () => {
  it('streams a chunked zip: LICENSE, %08d.dcm in database order, md5hashes.csv last', async () => {
    const res = await get(`${V4}/getImage?SeriesInstanceUID=${UID}&IncludeMD5=Yes`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/octet-stream');
    expect(res.headers['content-disposition']).toBe(`attachment; filename="${UID}.zip"`);
    expect(res.headers['content-length']).toBeUndefined();
    expect(res.headers['transfer-encoding']).toBe('chunked');

    const spec = emu.spec(UID);
    const files = await unzipAll(res.body);
    const dicom = files.slice(1, -1);
    expect(files[0]?.name).toBe('LICENSE');
    expect(files[0]?.data.toString()).toContain(`${spec?.collection} is licensed under CC BY 4.0`);
    expect(dicom.map((f) => f.name)).toEqual(
      Array.from({ length: spec?.imageCount ?? 0 }, (_, i) => `${String(i + 1).padStart(8, '0')}.dcm`),
    );
    expect(files.at(-1)?.name).toBe('md5hashes.csv');

    const indexes = instanceIndexes(UID, dicom);
    expect([...indexes].sort((a, b) => a - b)).toEqual(dicom.map((_, i) => i));
    expect(indexes).not.toEqual(dicom.map((_, i) => i));
    for (const [k, f] of dicom.entries()) expect(f.data.equals(emu.instance(UID, indexes[k] as number))).toBe(true);

    const hashes = parseMd5Csv(files.at(-1)?.data.toString() ?? '');
    expect([...hashes.keys()]).not.toEqual(dicom.map((f) => f.name));
    expect(new Set(hashes.keys())).toEqual(new Set(dicom.map((f) => f.name)));
    for (const f of dicom) expect(hashes.get(f.name)).toBe(md5(f.data));

    for (const entry of zipFlags(res.body)) {
      expect(entry.local & 0x0008).toBe(0x0008);
      expect(entry.central & 0x0008).toBe(0x0008);
      expect(entry.localSizes).toEqual([0, 0, 0]);
    }
  });

  it('serves the same bytes every time', async () => {
    const [a, b] = await Promise.all([1, 2].map(() => get(`${V4}/getImage?SeriesInstanceUID=${UID}`)));
    expect(a?.body.equals(b?.body as Buffer)).toBe(true);
    const names = (await unzipAll(a?.body as Buffer)).map((f) => f.name);
    expect(names).not.toContain('md5hashes.csv');
  });

  it('names files 1-NN.dcm in instance order with NewFileNames=Yes', async () => {
    const [uid] = ['1.2.3.44'];
    await start({ shape: { imagesPerSeries: [12, 12] } });
    const res = await get(`${V4}/getImage?SeriesInstanceUID=${uid}&NewFileNames=Yes&IncludeMD5=Yes`);
    const files = await unzipAll(res.body);
    const dicom = files.slice(1, -1);
    expect(dicom.map((f) => f.name)).toEqual(Array.from({ length: 12 }, (_, i) => `1-${String(i + 1).padStart(2, '0')}.dcm`));
    expect(instanceIndexes(uid as string, dicom)).toEqual(dicom.map((_, i) => i));
    expect(new Set(parseMd5Csv(files.at(-1)?.data.toString() ?? '').keys())).toEqual(new Set(dicom.map((f) => f.name)));
  });

  it('rejects parameters outside its allowed set', async () => {
    const res = await get(`${V4}/getImage?SeriesInstanceUID=${UID}&format=zip`);
    expect(res.statusCode).toBe(400);
    expect(res.body.toString()).toBe(
      "Invalid query parameter: 'format'. Allowed parameters are: [SeriesInstanceUID, NewFileNames, IncludeMD5]",
    );
    const md5Only = await get(`${V4}/getImageWithMD5Hash?SeriesInstanceUID=${UID}&IncludeMD5=Yes`);
    expect(md5Only.statusCode).toBe(400);
    expect(md5Only.body.toString()).toContain('Allowed parameters are: [SeriesInstanceUID]');
  });

  it('requires SeriesInstanceUID', async () => {
    const res = await get(`${V4}/getImage`);
    expect(res.statusCode).toBe(400);
    expect(res.body.toString()).toBe('A parameter, SeriesInstanceUID, is required for this API call.');
  });

  it('refuses unknown and non-public series with 400 before streaming', async () => {
    const collection = buildCollection(['1.2.3.1', '1.2.3.2']);
    await start({ collection, unknownUids: ['1.2.3.2'] });
    for (const uid of ['9.9.9', '1.2.3.2']) {
      const res = await get(`${V4}/getImage?SeriesInstanceUID=${uid}`);
      expect(res.statusCode).toBe(400);
      expect(res.headers['content-type']).toBe('application/json');
      expect(res.body.toString()).toMatch(
        new RegExp(`^The user has not been granted the access to image with given SeriesInstanceUID,${uid.replace(/\./g, '\\.')}\\. Please contact System Admin`),
      );
    }
    expect((await get(`${V4}/getImage?SeriesInstanceUID=1.2.3.1`)).statusCode).toBe(200);
    expect(emu.spec('1.2.3.2')).toBeUndefined();
  });
});

describe('getImageWithMD5Hash and v1 getImage', () => {
  it('getImageWithMD5Hash has no LICENSE and ends with md5hashes.csv', async () => {
    const files = await unzipAll((await get(`${V4}/getImageWithMD5Hash?SeriesInstanceUID=${UID}`)).body);
    expect(files[0]?.name).toBe('00000001.dcm');
    expect(files.at(-1)?.name).toBe('md5hashes.csv');
    const hashes = parseMd5Csv(files.at(-1)?.data.toString() ?? '');
    for (const f of files.slice(0, -1)) expect(hashes.get(f.name)).toBe(md5(f.data));
  });

  it('v1 ignores unknown parameters and words its 400 differently', async () => {
    const ok = await get(`${V1}/getImage?SeriesInstanceUID=${UID}&api_key=x&IncludeMD5=Yes`);
    expect(ok.statusCode).toBe(200);
    const names = (await unzipAll(ok.body)).map((f) => f.name);
    expect(names[0]).toBe('LICENSE');
    expect(names).not.toContain('md5hashes.csv');
    await start({ unknownUids: ['7.7'] });
    const refused = await get(`${V1}/getImage?SeriesInstanceUID=7.7`);
    expect(refused.statusCode).toBe(400);
    expect(refused.body.toString()).toBe('Image with given SeriesInstanceUID,7.7, is not in public domain.');
  });

  it('answers 404 on v4 when started without it, while v1 still works', async () => {
    await start({ v4: false });
    expect((await get(`${V4}/getImage?SeriesInstanceUID=${UID}`)).statusCode).toBe(404);
    expect((await get(`${V1}/getImage?SeriesInstanceUID=${UID}`)).statusCode).toBe(200);
    expect((await get('/nbia-api/services/v4/nothing')).statusCode).toBe(404);
    expect((await get('/elsewhere')).statusCode).toBe(404);
  });
});

describe('metadata', () => {
  it('v4 getSeriesMetadata returns fully quoted CSV with the 40 columns', async () => {
    const collection = buildCollection(['1.2.3.1', '1.2.3.2', '1.2.3.3', '1.2.3.4'], {
      seriesPerStudy: 1,
      studiesPerPatient: 1,
    });
    await start({ collection });
    const res = await postMetadata(['1.2.3.4', 'unknown.1', '1.2.3.1']);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-disposition']).toBe('attachment; filename="SeriesMetaData.csv"');
    const text = res.body.toString();
    const lines = text.split('\n');
    expect(lines).toHaveLength(4);
    expect(lines.at(-1)).toBe('');
    for (const line of lines.slice(0, -1)) expect(line).toMatch(/^"(?:[^"]|"")*"(?:,"(?:[^"]|"")*")*$/);
    const cells = (line: string): string[] => line.slice(1, -1).split('","').map((c) => c.replace(/""/g, '"'));
    expect(cells(lines[0] as string)).toEqual([...V4_METADATA_COLUMNS]);
    const rows = lines.slice(1, -1).map((l) => Object.fromEntries(V4_METADATA_COLUMNS.map((c, i) => [c, cells(l)[i]])));
    expect(rows.map((r) => r.SeriesInstanceUID)).toEqual(['1.2.3.4', '1.2.3.1']);
    const spec = collection[3];
    expect(rows[0]).toMatchObject({
      PatientID: spec?.patientId,
      PatientName: "O'BRIEN^ANN",
      StudyInstanceUID: spec?.studyUid,
      StudyDate: `${spec?.studyDate.slice(4, 6)}-${spec?.studyDate.slice(6)}-${spec?.studyDate.slice(0, 4)}`,
      ImageCount: String(spec?.imageCount),
      FileSize: String(seriesByteSize(spec as NonNullable<typeof spec>)),
      LicenseName: 'CC BY 4.0',
      Collection: 'CMB-CRC',
    });
    let total = 0;
    for (let i = 0; i < (spec?.imageCount ?? 0); i++) total += emu.instance('1.2.3.4', i).length;
    expect(rows[0]?.FileSize).toBe(String(total));
    expect(emu.requests.at(-1)).toMatchObject({ method: 'POST', status: 200, listSize: 3 });
  });

  it('answers 200 with an empty body when nothing matches', async () => {
    await start({ collection: [] });
    const res = await postMetadata(['9.9', '9.8']);
    expect(res.statusCode).toBe(200);
    expect(res.body.length).toBe(0);
  });

  it('takes 10,000 UIDs in one form body', async () => {
    const list = Array.from({ length: 10_000 }, (_, i) => `1.2.826.0.1.3680043.8.498.${1_000_000_000 + i}`);
    const res = await postMetadata(list);
    expect(res.statusCode).toBe(200);
    expect(res.body.toString().split('\n')).toHaveLength(10_002);
  });

  it('v1 getSeriesMetaData: one object with spaced names, string values, no PatientName; 204 when unknown', async () => {
    const res = await get(`${V1}/getSeriesMetaData?SeriesInstanceUID=${UID}`);
    expect(res.statusCode).toBe(200);
    const rows = JSON.parse(res.body.toString()) as Record<string, unknown>[];
    expect(rows).toHaveLength(1);
    const row = rows[0] ?? {};
    for (const value of Object.values(row)) expect(typeof value).toBe('string');
    const keys = Object.keys(row);
    expect(keys).toEqual(V1_METADATA_COLUMNS.filter((c) => keys.includes(c)));
    expect(keys).not.toContain('PatientName');
    const spec = emu.spec(UID);
    expect(row).toMatchObject({
      'Series UID': UID,
      'Subject ID': spec?.patientId,
      'Study UID': spec?.studyUid,
      'Number of Images': String(spec?.imageCount),
      'File Size': String(seriesByteSize(spec as NonNullable<typeof spec>)),
      'License Name': 'CC BY 4.0',
      'Series Number': String(spec?.seriesNumber),
    });
    expect(row['Study Description']).toMatch(/^[A-Za-z0-9 .-]*$/);

    const csv = await get(`${V1}/getSeriesMetaData?SeriesInstanceUID=${UID}&format=csv`);
    expect(csv.body.toString().split('\n')[0]).toBe(V1_METADATA_COLUMNS.map((c) => `"${c}"`).join(','));

    await start({ collection: [] });
    const unknown = await get(`${V1}/getSeriesMetaData?SeriesInstanceUID=${UID}`);
    expect(unknown.statusCode).toBe(204);
  });

  it('getSeriesSize and getSOPInstanceUIDs agree with the zip', async () => {
    const spec = emu.spec(UID);
    if (!spec) throw new Error('spec');
    const size = JSON.parse((await get(`${V4}/getSeriesSize?SeriesInstanceUID=${UID}`)).body.toString()) as unknown;
    expect(size).toEqual([{ TotalSizeInBytes: seriesByteSize(spec), ObjectCount: spec.imageCount }]);
    const sops = JSON.parse((await get(`${V4}/getSOPInstanceUIDs?SeriesInstanceUID=${UID}`)).body.toString()) as {
      SOPInstanceUID: string;
    }[];
    const all = Array.from({ length: spec.imageCount }, (_, i) => sopInstanceUid(spec, i));
    expect(new Set(sops.map((s) => s.SOPInstanceUID))).toEqual(new Set(all));
    expect((await get(`${V4}/getSeriesSize?SeriesInstanceUID=${UID}&api_key=1`)).statusCode).toBe(400);
  });

  it('getSingleImage serves the file getImage serves for that SOPInstanceUID', async () => {
    const spec = emu.spec(UID);
    if (!spec) throw new Error('spec');
    const sop = sopInstanceUid(spec, 1);
    const res = await get(`${V1}/getSingleImage?SeriesInstanceUID=${UID}&SOPInstanceUID=${sop}`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/dicom');
    expect(res.headers['content-disposition']).toBe(`attachment; filename=${sop}.dcm`);
    expect(res.body.equals(emu.instance(UID, 1))).toBe(true);
    expect((await get(`${V1}/getSingleImage?SeriesInstanceUID=${UID}`)).statusCode).toBe(400);
    expect((await get(`${V4}/getSingleImage?SeriesInstanceUID=${UID}&SOPInstanceUID=${sop}&format=json`)).statusCode).toBe(400);
    expect((await get(`${V1}/getSingleImage?SeriesInstanceUID=${UID}&SOPInstanceUID=2.25.1`)).statusCode).toBe(404);
  });
});

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
