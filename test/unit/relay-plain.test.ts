// Files a source hands over uncompressed (IDC's shape) go out through the same zip writer: whole ones STORED with
// their CRC-32 up front, larger ones streamed as DEFLATED with a data descriptor; Java reads both byte for byte.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import dcmjs from 'dcmjs';
import { makeInstance, seriesSpecFromUid } from '../../emulators/nbia/index.js';
import { Md5MismatchError } from '../../src/errors.js';
import type { SourceSeries } from '../../src/sources/types.js';
import { relaySource } from '../../src/transfer/relay-series.js';
import { readWithJava } from '../jdk/read-with-java.js';
import { sentName } from '../support/sent-names.js';

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
      expect(java?.entries).toEqual(FILES.map((f) => ({ name: sentName(f.bytes), method, size: f.bytes.length, crc: crc32(f.bytes) })));
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

describe('relaySource with a header longer than the first chunks', () => {
  /** A Part 10 file whose identifying groups come after a 100 KB private element, past what is read first. */
  function longHeader(seriesUid: string): Buffer {
    const dict = new dcmjs.data.DicomDict({
      '00020001': { vr: 'OB', Value: [new Uint8Array([0, 1]).buffer] },
      '00020002': { vr: 'UI', Value: ['1.2.840.10008.5.1.4.1.1.7'] },
      '00020003': { vr: 'UI', Value: ['1.2.826.0.1.3680043.8.498.1.9.92.1'] },
      '00020010': { vr: 'UI', Value: ['1.2.840.10008.1.2.1'] },
    });
    dict.dict = {
      '00080016': { vr: 'UI', Value: ['1.2.840.10008.5.1.4.1.1.7'] },
      '00080018': { vr: 'UI', Value: ['1.2.826.0.1.3680043.8.498.1.9.92.1'] },
      '00090010': { vr: 'LO', Value: ['XTD TEST'] },
      '00091001': { vr: 'OB', Value: [new Uint8Array(100_000).fill(7).buffer] },
      '00100010': { vr: 'PN', Value: [{ Alphabetic: 'LONG^HEADER' }] },
      '00100020': { vr: 'LO', Value: ['LONG-1'] },
      '0020000D': { vr: 'UI', Value: [SPEC.studyUid] },
      '0020000E': { vr: 'UI', Value: [seriesUid] },
    };
    return Buffer.from(dict.write());
  }

  it('reads on past the first 64 KB for the header, so a file of another series is still caught', async () => {
    const files = [...FILES.slice(0, 3), { name: 'long.dcm', bytes: longHeader('1.2.826.0.1.3680043.8.498.1.9.99') }];
    const unreadable: string[] = [];
    const expected = { seriesUid: SPEC.seriesUid, studyUid: SPEC.studyUid, imageCount: 4 };
    const result = await relaySource(plainSeries(files, files), expected, async (body) => {
      for await (const chunk of body) void chunk;
      return '/data/prearchive/projects/P/20260101_000000000/S';
    }, new AbortController().signal, { onUnreadable: (file) => unreadable.push(file) }).catch((e: unknown) => e);
    expect(result).toMatchObject({ message: expect.stringMatching(/^long\.dcm belongs to series 1\.2\.826\.0\.1\.3680043\.8\.498\.1\.9\.99, not /) });
    expect(unreadable).toEqual([]);
  });

  it('sends such a file of the right series on with its header read', async () => {
    const files = [...FILES.slice(0, 3), { name: 'long.dcm', bytes: longHeader(SPEC.seriesUid) }];
    const unreadable: string[] = [];
    const expected = { seriesUid: SPEC.seriesUid, studyUid: SPEC.studyUid, imageCount: 4 };
    const result = await relaySource(plainSeries(files, files), expected, async (body) => {
      for await (const chunk of body) void chunk;
      return '/data/prearchive/projects/P/20260101_000000000/S';
    }, new AbortController().signal, { onUnreadable: (file) => unreadable.push(file) });
    expect(result.stats).toMatchObject({ files: 4, md5Verified: 4 });
    expect(unreadable).toEqual([]);
  });
});
