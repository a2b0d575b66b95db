// The relay's pass-through path: TCIA's DEFLATE bytes copied to XNAT, a side copy checked; Java reads the result.
import { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import { seriesSpecFromUid, zipEntries, zipStream, type ZipPlan } from '../../emulators/nbia/index.js';
import { Md5MismatchError, SeriesContentError } from '../../src/errors.js';
import { relaySeries } from '../../src/transfer/relay-series.js';
import { readWithJava } from '../jdk/read-with-java.js';

const PLAN: ZipPlan = { license: true, newFileNames: false, md5: true };

function series(images: number, rows: number): ReturnType<typeof seriesSpecFromUid> {
  return seriesSpecFromUid('1.2.826.0.1.3680043.8.498.1.9.4', { imagesPerSeries: [images, images], rows, columns: rows, modalities: ['CT'], pixels: { noiseBits: 6, padding: 0.28 } });
}

/** Relays the series' getImage zip (level 6, data descriptors) into Java's ZipInputStream. */
async function relay(spec: ReturnType<typeof series>, plan: ZipPlan = PLAN, wholeEntryLimit?: number): Promise<{ result: PromiseSettledResult<unknown>; java?: Awaited<ReturnType<typeof readWithJava>> }> {
  let java: Promise<Awaited<ReturnType<typeof readWithJava>>> | undefined;
  const result = await Promise.allSettled([
    relaySeries(
      zipStream(zipEntries(spec, plan), 6),
      { seriesUid: spec.seriesUid, studyUid: spec.studyUid, imageCount: spec.imageCount },
      async (zip: Readable) => {
        java = readWithJava(zip);
        const { error } = await java;
        if (error) throw new Error(error);
        return '/data/prearchive/projects/P/20260101_000000000/S';
      },
      new AbortController().signal,
      wholeEntryLimit === undefined ? {} : { holdLimits: { plain: 4 * wholeEntryLimit, deflated: wholeEntryLimit } },
    ),
  ]);
  return { result: result[0] as PromiseSettledResult<unknown>, java: java && (await java) };
}

describe('relaySeries passing DEFLATE entries through', () => {
  it('delivers every DICOM file, still DEFLATED, byte for byte as Java reads it; LICENSE and md5hashes.csv are dropped', async () => {
    const spec = series(8, 256);
    const { result, java } = await relay(spec);
    expect(result.status).toBe('fulfilled');
    expect(java?.error).toBeUndefined();
    const want = [...zipEntries(spec, PLAN)].filter((e) => e.name.endsWith('.dcm')).map((e) => ({ name: e.name, method: 8, size: e.data.length, crc: crc32(e.data) }));
    expect(java?.entries).toEqual(want);
  });

  it('streams an entry too large to hold through, checked the same way', async () => {
    const spec = series(3, 1024);
    const { result, java } = await relay(spec, PLAN, 64 * 1024);
    expect(result.status).toBe('fulfilled');
    expect(java?.entries).toEqual([...zipEntries(spec, PLAN)].filter((e) => e.name.endsWith('.dcm')).map((e) => ({ name: e.name, method: 8, size: e.data.length, crc: crc32(e.data) })));
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

  it('fails a streamed entry whose MD5 does not match', async () => {
    const { result, java } = await relay(series(3, 512), { ...PLAN, corrupt: { entryIndex: 2, offset: -1 } }, 64 * 1024);
    expect((result as PromiseRejectedResult).reason).toBeInstanceOf(Md5MismatchError);
    expect(java?.broken).toBe(true);
  });

  it("fails an entry whose bytes do not match TCIA's data descriptor, though its MD5 would", async () => {
    const spec = series(3, 64);
    const parts: Buffer[] = [];
    for await (const chunk of zipStream(zipEntries(spec, PLAN), 6)) parts.push(chunk as Buffer);
    const zip = Buffer.concat(parts);
    // The second descriptor is the first DICOM file's (the first is LICENSE's); flip a bit of its CRC-32.
    const signature = Buffer.from('PK\x07\x08', 'latin1');
    const at = zip.indexOf(signature, zip.indexOf(signature) + 4);
    zip[at + 4] = (zip[at + 4] as number) ^ 1;
    const result = relaySeries(Readable.from([zip]), { seriesUid: spec.seriesUid, studyUid: spec.studyUid, imageCount: 3 }, async (body) => {
      body.resume();
      await new Promise((resolve, reject) => body.on('end', resolve).on('error', reject));
      return '/data/prearchive/projects/P/20260101_000000000/S';
    }, new AbortController().signal);
    await expect(result).rejects.toThrow(/CRC-32 or size does not match/);
  });

  it('fails a series without md5hashes.csv', async () => {
    const { result } = await relay(series(3, 64), { ...PLAN, md5: false });
    expect((result as PromiseRejectedResult).reason).toBeInstanceOf(SeriesContentError);
    expect(String((result as PromiseRejectedResult).reason.message)).toMatch(/no md5hashes.csv/);
  });
});
