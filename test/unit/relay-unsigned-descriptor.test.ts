// A getImage zip whose data descriptors carry no signature, relayed as NBIA's are: every file reaches XNAT (Java's
// ZipInputStream) byte for byte, the tool's own descriptors stay signed, and the CRC-32 the descriptor gives is checked.
import { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import { seriesSpecFromUid, unsignedDescriptorZip, zipEntries, type ZipPlan } from '../../emulators/nbia/index.js';
import type { HoldLimits } from '../../src/transfer/relay-files.js';
import { relaySeries } from '../../src/transfer/relay-series.js';
import { readWithJava } from '../jdk/read-with-java.js';
import { sentName } from '../support/sent-names.js';

const PLAN: ZipPlan = { license: true, newFileNames: false, md5: true };
const spec = seriesSpecFromUid('1.2.826.0.1.3680043.8.498.1.9.7', { imagesPerSeries: [3, 3], rows: 512, columns: 512, modalities: ['CT'], pixels: { noiseBits: 6, padding: 0.28 } });
/** Small limits, so that files of a few hundred KB are streamed through, each ending in a descriptor the tool writes. */
const STREAMED: HoldLimits = { plain: 256 * 1024, deflated: 64 * 1024 };
const DESCRIPTOR_SIGNATURE = Buffer.from('PK\x07\x08', 'latin1');

async function unsignedZip(): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of unsignedDescriptorZip(zipEntries(spec, PLAN), { level: 6 })) parts.push(chunk);
  return Buffer.concat(parts);
}

/** Relays `zip` in NBIA's 8 KB writes; resolves with the bytes XNAT was sent, or rejects with the relay's error. */
async function relay(zip: Buffer, holdLimits?: HoldLimits): Promise<Buffer> {
  const sent: Buffer[] = [];
  const pieces = Array.from({ length: Math.ceil(zip.length / 8192) }, (_, i) => zip.subarray(i * 8192, (i + 1) * 8192));
  await relaySeries(Readable.from(pieces), { seriesUid: spec.seriesUid, studyUid: spec.studyUid, imageCount: spec.imageCount }, async (body) => {
    for await (const chunk of body) sent.push(chunk as Buffer);
    return '/data/prearchive/projects/P/20260101_000000000/S';
  }, new AbortController().signal, holdLimits ? { holdLimits } : {});
  return Buffer.concat(sent);
}

describe('relaySeries on descriptors without their signature', () => {
  it.each([
    ['held whole', undefined],
    ['streamed', STREAMED],
  ])('delivers every DICOM file, still DEFLATED, byte for byte as Java reads it (%s)', async (_how, limits) => {
    const zip = await unsignedZip();
    expect(zip.indexOf(DESCRIPTOR_SIGNATURE)).toBe(-1);
    const sent = await relay(zip, limits);
    const java = await readWithJava(Readable.from([sent]));
    expect(java.error).toBeUndefined();
    const dicom = [...zipEntries(spec, PLAN)].filter((e) => e.name.endsWith('.dcm'));
    expect(java.entries).toEqual(dicom.map((e) => ({ name: sentName(e.data), method: 8, size: e.data.length, crc: crc32(e.data) })));
    // The tool writes its own descriptors, for entries it streams, signed as APPNOTE 4.3.9.4 asks of writers.
    expect(sent.indexOf(DESCRIPTOR_SIGNATURE) >= 0).toBe(limits !== undefined);
  });

  it.each([
    ['CRC-32', 0],
    ['size', 8],
  ])("fails a file whose %s does not match the unsigned descriptor, though its MD5 would: held whole or streamed", async (_what, offset) => {
    const zip = await unsignedZip();
    // The first DICOM file's descriptor ends where the next local header starts.
    const next = zip.indexOf(Buffer.from('00000002.dcm')) - 30;
    zip[next - 12 + offset] = (zip[next - 12 + offset] as number) ^ 1;
    for (const limits of [undefined, STREAMED]) await expect(relay(zip, limits)).rejects.toThrow(/00000001\.dcm: CRC-32 or size does not match/);
  });
});
