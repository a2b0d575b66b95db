// Files a source hands over uncompressed (IDC's shape) go out through the same zip writer: whole ones STORED with
// their CRC-32 up front, larger ones streamed as DEFLATED with a data descriptor; Java reads both byte for byte.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import { makeInstance, seriesSpecFromUid } from '../../emulators/nbia/index.js';
import { Md5MismatchError } from '../../src/errors.js';
import type { SourceSeries } from '../../src/sources/types.js';
import { relaySource } from '../../src/transfer/relay-series.js';
import { readWithJava } from '../jdk/read-with-java.js';

const SPEC = seriesSpecFromUid('1.2.826.0.1.3680043.8.498.1.9.91', { imagesPerSeries: [4, 4], rows: 256, columns: 256, modalities: ['CT'] });
const FILES = Array.from({ length: SPEC.imageCount }, (_, i) => ({ name: `${i + 1}.dcm`, bytes: makeInstance(SPEC, i) }));
const md5 = (bytes: Buffer): string => createHash('md5').update(bytes).digest('hex');

/** Files in 64 KB chunks, as a socket would give them; the list holds the MD5 of `listed`. */
function plainSeries(served = FILES, listed = FILES): SourceSeries {
  return {
    source: 'idc',
    seriesUid: SPEC.seriesUid,
    verified: 'md5',
    async *files() {
      for (const { name, bytes } of served) {
        const chunks = Array.from({ length: Math.ceil(bytes.length / 65536) }, (_, i) => bytes.subarray(i * 65536, (i + 1) * 65536));
        yield { name, body: Readable.from(chunks) };
      }
    },
    checkList: async () => ({ checks: new Map(listed.map((f) => [f.name, { kind: 'md5' as const, md5: md5(f.bytes) }])), listName: 'the list', holder: 'the source' }),
    close: () => undefined,
  };
}

async function relayIntoJava(series: SourceSeries, plain: number): Promise<{ result: unknown; java: Awaited<ReturnType<typeof readWithJava>> | undefined }> {
  let java: ReturnType<typeof readWithJava> | undefined;
  const expected = { seriesUid: SPEC.seriesUid, studyUid: SPEC.studyUid, imageCount: SPEC.imageCount };
  const result = await relaySource(series, expected, async (body) => {
    java = readWithJava(body);
    const { error } = await java;
    if (error) throw new Error(error);
    return '/data/prearchive/projects/P/20260101_000000000/S';
  }, new AbortController().signal, { holdLimits: { plain, deflated: plain } }).catch((e: unknown) => e);
  return { result, java: java && (await java) };
}

describe('relaySource with plain bodies, read by Java', () => {
  it('writes whole files STORED and larger ones DEFLATED with a data descriptor, every byte as served', async () => {
    // 128 KB: the 131 KB files are streamed; a limit over their size holds them whole.
    for (const [plain, method] of [[16 * 1024 * 1024, 0], [128 * 1024, 8]] as const) {
      const { result, java } = await relayIntoJava(plainSeries(), plain);
      expect(result).toMatchObject({ stats: { files: 4, md5Verified: 4 } });
      expect(java?.error).toBeUndefined();
      expect(java?.entries).toEqual(FILES.map((f) => ({ name: f.name, method, size: f.bytes.length, crc: crc32(f.bytes) })));
    }
  });

  it('fails a streamed file whose MD5 differs; the upload breaks off before the zip is whole', async () => {
    const damaged = FILES.map((f, i) => (i === 3 ? { ...f, bytes: Buffer.concat([f.bytes.subarray(0, -1), Buffer.from([f.bytes.at(-1)! ^ 1])]) } : f));
    const { result, java } = await relayIntoJava(plainSeries(damaged, FILES), 128 * 1024);
    expect(result).toBeInstanceOf(Md5MismatchError);
    expect(java?.broken).toBe(true);
    expect(java?.entries.length).toBeLessThan(4);
  });
});
