// The relay's pass-through path: TCIA's DEFLATE bytes copied to XNAT, a side copy checked; Java reads the result.
import { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import { seriesSpecFromUid, zipEntries, zipStream, type ZipPlan } from '../../emulators/nbia/index.js';
import { Md5MismatchError, SeriesContentError } from '../../src/errors.js';
import type { HoldLimits } from '../../src/transfer/relay-files.js';
import { relaySeries } from '../../src/transfer/relay-series.js';
import { ZipWriter } from '../../src/transfer/zip/zip-writer.js';
import { readWithJava } from '../jdk/read-with-java.js';
import { sentName } from '../support/sent-names.js';

const PLAN: ZipPlan = { license: true, newFileNames: false, md5: true };

function series(images: number, rows: number): ReturnType<typeof seriesSpecFromUid> {
  return seriesSpecFromUid('1.2.826.0.1.3680043.8.498.1.9.4', { imagesPerSeries: [images, images], rows, columns: rows, modalities: ['CT'], pixels: { noiseBits: 6, padding: 0.28 } });
}

type Java = Awaited<ReturnType<typeof readWithJava>>;

/** Relays a zip (default: the series' getImage zip, level 6, data descriptors) into Java's ZipInputStream. */
async function relay(spec: ReturnType<typeof series>, plan: ZipPlan = PLAN, holdLimits?: HoldLimits, zip?: Readable): Promise<{ result: PromiseSettledResult<unknown>; java?: Java }> {
  let java: Promise<Java> | undefined;
  const result = await Promise.allSettled([
    relaySeries(
      zip ?? zipStream(zipEntries(spec, plan), 6),
      { seriesUid: spec.seriesUid, studyUid: spec.studyUid, imageCount: spec.imageCount },
      async (body: Readable) => {
        java = readWithJava(body);
        const { error } = await java;
        if (error) throw new Error(error);
        return '/data/prearchive/projects/P/20260101_000000000/S';
      },
      new AbortController().signal,
      holdLimits ? { holdLimits } : {},
    ),
  ]);
  return { result: result[0] as PromiseSettledResult<unknown>, java: java && (await java) };
}

/** Small limits, so that files of a few hundred KB take the streamed path. */
const STREAMED: HoldLimits = { plain: 256 * 1024, deflated: 64 * 1024 };
/** Held whole as DEFLATE bytes, but too large inflated for one zlib call: the side copy is inflated in pieces. */
const INFLATED_IN_PIECES: HoldLimits = { plain: 64 * 1024, deflated: 16 * 1024 * 1024 };

/** The DICOM entries as Java should read them. */
function javaView(spec: ReturnType<typeof series>, method = 8): { name: string; method: number; size: number; crc: number }[] {
  return [...zipEntries(spec, PLAN)].filter((e) => e.name.endsWith('.dcm')).map((e) => ({ name: sentName(e.data), method, size: e.data.length, crc: crc32(e.data) }));
}

/** The series' zip as one buffer. */
async function zipBytes(spec: ReturnType<typeof series>, plan: ZipPlan = PLAN): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of zipStream(zipEntries(spec, plan), 6)) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

describe('relaySeries passing DEFLATE entries through', () => {
  it('delivers every DICOM file, still DEFLATED, byte for byte as Java reads it; LICENSE and md5hashes.csv are dropped', async () => {
    const spec = series(8, 256);
    const { result, java } = await relay(spec);
    expect(result.status).toBe('fulfilled');
    expect(java?.error).toBeUndefined();
    expect(java?.entries).toEqual(javaView(spec));
  });

  it('streams an entry too large to hold through, checked the same way', async () => {
    const spec = series(3, 1024);
    const { result, java } = await relay(spec, PLAN, STREAMED);
    expect(result.status).toBe('fulfilled');
    expect(java?.entries).toEqual(javaView(spec));
  });

  it('fails a file whose MD5 does not match, and XNAT never sees a complete zip', async () => {
    const spec = series(5, 128);
    const { result, java } = await relay(spec, { ...PLAN, corrupt: { entryIndex: 4, offset: -1 } });
    expect(result.status).toBe('rejected');
    expect((result as PromiseRejectedResult).reason).toBeInstanceOf(Md5MismatchError);
    expect(java?.broken).toBe(true);
    // The last file is held back until md5hashes.csv has been checked, so the series never arrives whole.
    expect(java?.entries.length).toBeLessThan(5);
  });

  it('fails a streamed entry whose MD5 does not match; its data descriptor was held back, so Java never completes it', async () => {
    // Files large enough that the streamed entry's data leaves the writer's 256 KB blocks before the verdict.
    const spec = series(3, 1024);
    const plan = { ...PLAN, corrupt: { entryIndex: 2, offset: -1 } };
    const zip = await zipBytes(spec, plan);
    // md5hashes.csv comes a while after the last DICOM entry, so Java has read everything written before the verdict.
    const list = zip.indexOf(Buffer.from('md5hashes.csv')) - 30;
    const slow = Readable.from((async function* () {
      yield zip.subarray(0, list);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      yield zip.subarray(list);
    })());
    // What reached XNAT before the upload broke off is recorded here, then read by Java (its start-up takes longer
    // than the wait above, so it reads the recording rather than the live upload).
    const received: Buffer[] = [];
    const result = await relaySeries(slow, { seriesUid: spec.seriesUid, studyUid: spec.studyUid, imageCount: 3 }, (body) => new Promise((_resolve, reject) => {
      body.on('data', (chunk: Buffer) => received.push(chunk)).on('error', reject);
    }), new AbortController().signal, { holdLimits: STREAMED }).catch((e: unknown) => e);
    expect(result).toBeInstanceOf(Md5MismatchError);
    const java = await readWithJava(Readable.from([Buffer.concat(received)]));
    expect(java.error).toMatch(/ZipInputStream/);
    expect(java.entries.map((e) => e.name)).toEqual(javaView(spec).slice(0, 2).map((e) => e.name));
  });

  it('checks a whole entry that inflates past the hold limit in pieces', async () => {
    const spec = series(3, 512);
    const { result, java } = await relay(spec, PLAN, INFLATED_IN_PIECES);
    expect(result.status).toBe('fulfilled');
    expect(java?.entries).toEqual(javaView(spec));
  });

  it('calls DEFLATE data that does not inflate a retryable content error, whole or streamed', async () => {
    const spec = series(3, 256);
    const zip = await zipBytes(spec);
    // Inside the first DICOM entry's compressed bytes (LICENSE comes first): a run of bytes no DEFLATE stream holds.
    const at = zip.indexOf(Buffer.from('00000001.dcm')) + 400;
    zip.fill(0xff, at, at + 64);
    for (const limits of [undefined, STREAMED]) {
      const { result, java } = await relay(spec, PLAN, limits, Readable.from([zip]));
      const reason = (result as PromiseRejectedResult).reason as SeriesContentError;
      expect(reason).toBeInstanceOf(SeriesContentError);
      expect(reason.message).toMatch(/00000001\.dcm: (its compressed bytes do not inflate|CRC-32 or size does not match)/);
      expect(reason.retryable).toBe(true);
      expect(java?.entries ?? []).toEqual([]);
    }
  });

  it('relays STORED entries of the source zip as plain files, each STORED with its sizes up front', async () => {
    const spec = series(3, 128);
    const writer = new ZipWriter();
    const parts: Buffer[] = [];
    writer.output.on('data', (chunk: Buffer) => parts.push(chunk));
    for (const entry of zipEntries(spec, PLAN)) await writer.addStored(entry.name, entry.data);
    await writer.finish();
    const { result, java } = await relay(spec, PLAN, undefined, Readable.from([Buffer.concat(parts)]));
    expect(result.status).toBe('fulfilled');
    expect(java?.entries).toEqual(javaView(spec, 0));
  });

  it.each([
    ['CRC-32', 4],
    ['size', 12],
  ])("fails an entry whose %s does not match TCIA's data descriptor, though its MD5 would: whole, inflated in pieces or streamed", async (_what, offset) => {
    const spec = series(3, 1024);
    const zip = await zipBytes(spec);
    // The second descriptor is the first DICOM file's (the first is LICENSE's); flip a bit of the field.
    const signature = Buffer.from('PK\x07\x08', 'latin1');
    const at = zip.indexOf(signature, zip.indexOf(signature) + 4);
    zip[at + offset] = (zip[at + offset] as number) ^ 1;
    for (const holdLimits of [undefined, INFLATED_IN_PIECES, STREAMED]) {
      const result = relaySeries(Readable.from([zip]), { seriesUid: spec.seriesUid, studyUid: spec.studyUid, imageCount: 3 }, async (body) => {
        body.resume();
        await new Promise((resolve, reject) => body.on('end', resolve).on('error', reject));
        return '/data/prearchive/projects/P/20260101_000000000/S';
      }, new AbortController().signal, holdLimits ? { holdLimits } : {});
      await expect(result).rejects.toThrow(/00000001\.dcm: CRC-32 or size does not match/);
    }
  });

  it('fails a series without md5hashes.csv', async () => {
    const { result } = await relay(series(3, 64), { ...PLAN, md5: false });
    expect((result as PromiseRejectedResult).reason).toBeInstanceOf(SeriesContentError);
    expect(String((result as PromiseRejectedResult).reason.message)).toMatch(/no md5hashes.csv/);
  });
});
