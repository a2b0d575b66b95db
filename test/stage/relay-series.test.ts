import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import archiver from 'archiver';
import got from 'got';
import unzip from 'unzip-stream';
import { Md5MismatchError, SeriesContentError } from '../../src/errors.js';
import { relaySeries, type StartUpload } from '../../src/transfer/relay-series.js';
import { startNbiaEmulator, type NbiaEmulator } from '../../emulators/nbia/index.js';
import { sentName } from '../support/sent-names.js';

const UID = '1.3.6.1.4.1.14519.5.2.1.1.24683744861288402229232136260839169890';
let nbia: NbiaEmulator;

beforeEach(async () => {
  nbia = await startNbiaEmulator({ shape: { imagesPerSeries: [6, 6], rows: 64, columns: 64 } });
});
afterEach(async () => nbia.close());

function download(): Readable {
  return got.stream(`${nbia.url}/nbia-api/services/v4/getImage`, { searchParams: { SeriesInstanceUID: UID, IncludeMD5: 'Yes' } });
}

interface Captured {
  entries: { name: string; bytes: Buffer; flags: number; method: number }[];
  ended: boolean;
  error?: Error;
}

/** Stands in for XNAT's import: reads the outgoing zip as it arrives and records how the body ended. */
function capture(): { start: StartUpload; result: Promise<Captured> } {
  let resolveResult: (c: Captured) => void = () => undefined;
  const result = new Promise<Captured>((r) => (resolveResult = r));
  const start: StartUpload = (zip) => {
    const captured: Captured = { entries: [], ended: false };
    const raw: Buffer[] = [];
    zip.on('data', (chunk: Buffer) => raw.push(chunk));
    return new Promise<string>((resolve, reject) => {
      zip.on('error', (error) => {
        captured.error = error;
        resolveResult(captured);
        reject(error);
      });
      zip.on('end', async () => {
        captured.ended = true;
        const body = Buffer.concat(raw);
        // unzip-stream closes before the last DEFLATED entry has inflated, so wait for every entry's end too.
        const ends: Promise<void>[] = [];
        await new Promise<void>((done) => {
          Readable.from([body]).pipe(unzip.Parse())
            .on('entry', (entry: Readable & { path: string }) => {
              const parts: Buffer[] = [];
              const index = captured.entries.push({ name: entry.path, bytes: Buffer.alloc(0), flags: 0, method: 0 }) - 1;
              entry.on('data', (c: Buffer) => parts.push(c));
              ends.push(new Promise((ended) => entry.on('end', () => ended((captured.entries[index]!.bytes = Buffer.concat(parts)) && undefined))));
            })
            .on('close', () => done());
        });
        await Promise.all(ends);
        // General-purpose flags and method of each local header, read straight from the bytes.
        let offset = 0;
        let i = 0;
        while ((offset = body.indexOf(Buffer.from([0x50, 0x4b, 3, 4]), offset)) >= 0 && i < captured.entries.length) {
          captured.entries[i]!.flags = body.readUInt16LE(offset + 6);
          captured.entries[i]!.method = body.readUInt16LE(offset + 8);
          offset += 4 + body.readUInt32LE(offset + 18);
          i += 1;
        }
        resolveResult(captured);
        resolve('/data/prearchive/projects/P/20260101_000000000/S');
      });
    });
  };
  return { start, result };
}

describe('relaySeries: TCIA zip → verify → XNAT zip', () => {
  it('holds the download back while XNAT is slow, instead of buffering the series', async () => {
    await nbia.close();
    nbia = await startNbiaEmulator({ shape: { imagesPerSeries: [60, 60], rows: 512, columns: 512 }, deflateLevel: 0 });
    let downloaded = 0;
    const source = download();
    source.on('data', (chunk: Buffer) => (downloaded += chunk.length));
    source.pause();
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    const relay = relaySeries(source, { seriesUid: UID, studyUid: '', imageCount: 60 }, async (zip) => {
      // XNAT takes nothing for a while, then everything.
      await released;
      zip.resume();
      await new Promise((resolve) => zip.on('end', resolve));
      return '/data/prearchive/projects/P/20260101_000000000/S';
    }, new AbortController().signal);
    // Wait until the download has settled where backpressure holds it.
    for (let last = -1; last !== downloaded; ) {
      last = downloaded;
      await new Promise((resolve) => setTimeout(resolve, 700));
    }
    // 60 files of 512 KB are 31 MB; only a few files plus stream buffers may be in flight, but more than one file
    // must have come in, or the test would pass with a download that never started.
    expect(downloaded).toBeGreaterThan(512 * 512 * 2);
    expect(downloaded).toBeLessThan(12 * 1024 * 1024);
    release();
    const { stats } = await relay;
    expect(stats.files).toBe(60);
  });

  it('passes every DICOM file through unchanged, its DEFLATE bytes as TCIA sent them with sizes up front, and drops LICENSE and md5hashes.csv', async () => {
    const { start, result } = capture();
    const { stats, uri } = await relaySeries(download(), { seriesUid: UID, studyUid: nbia.spec(UID)!.studyUid, imageCount: 6 }, start, new AbortController().signal);
    expect(uri).toMatch(/^\/data\/prearchive\//);
    expect(stats).toMatchObject({ files: 6, md5Verified: 6 });
    const captured = await result;
    // Each file goes under its SOPInstanceUID, which NBIA and IDC and every attempt agree on.
    expect(captured.entries.map((e) => e.name).sort()).toEqual(Array.from({ length: 6 }, (_, i) => sentName(nbia.instance(UID, i))).sort());
    const served = new Set(Array.from({ length: 6 }, (_, i) => nbia.instance(UID, i).toString('base64')));
    for (const entry of captured.entries) {
      expect(served.has(entry.bytes.toString('base64'))).toBe(true);
      // DEFLATED (8), as the emulator sent it, without a data descriptor (bit 3): java.util.zip.ZipInputStream
      // accepts it (test/unit/relay-passthrough.test.ts reads the relay's zip with Java).
      expect(entry.method).toBe(8);
      expect(entry.flags & 0x08).toBe(0);
    }
  });

  it('refuses a file whose MD5 differs and tears the upload down instead of finishing the zip', async () => {
    nbia.faults.set({ corruptByte: { entryIndex: 2, count: 1 } });
    const { start, result } = capture();
    const relay = relaySeries(download(), { seriesUid: UID, studyUid: '', imageCount: 6 }, start, new AbortController().signal);
    const failure = await relay.catch((e: unknown) => e);
    expect((failure as Error).message).toMatch(/MD5 [0-9a-f]{32} does not match/);
    expect(failure).toBeInstanceOf(Md5MismatchError);
    const captured = await result;
    expect(captured.ended).toBe(false);
    expect(captured.error).toBeDefined();
  });

  it('calls a non-DICOM entry missing from md5hashes.csv a retryable transfer error', async () => {
    nbia.faults.set({ nonDicomEntry: true });
    const { start } = capture();
    const error = await relaySeries(download(), { seriesUid: UID, studyUid: '', imageCount: 6 }, start, new AbortController().signal).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/readme\.txt is not listed in md5hashes\.csv/);
    expect((error as SeriesContentError).retryable).toBe(true);
  });

  it('checks a file in a folder of the zip against the md5hashes.csv line of its whole name', async () => {
    // NBIA writes flat names; another server may put each series in a folder and list the files so.
    const files = Array.from({ length: 3 }, (_, i) => nbia.instance(UID, i));
    const names = files.map((_, i) => `${UID}/${i + 1}.dcm`);
    const zip = archiver('zip', { zlib: { level: 6 } });
    files.forEach((data, i) => zip.append(data, { name: names[i]! }));
    zip.append(`Filename,MD5Hash\n${files.map((data, i) => `${names[i]},${createHash('md5').update(data).digest('hex')}\n`).join('')}`, { name: 'md5hashes.csv' });
    void zip.finalize();
    const { start, result } = capture();
    const { stats } = await relaySeries(zip, { seriesUid: UID, studyUid: nbia.spec(UID)!.studyUid, imageCount: 3 }, start, new AbortController().signal);
    expect(stats).toMatchObject({ files: 3, md5Verified: 3 });
    expect((await result).entries.map((e) => e.bytes.toString('base64')).sort()).toEqual(files.map((f) => f.toString('base64')).sort());
  });

  it('calls a cut-off download a retryable content error', async () => {
    nbia.faults.set({ truncateAfterBytes: 20_000 });
    const { start } = capture();
    const error = await relaySeries(download(), { seriesUid: UID, studyUid: '', imageCount: 6 }, start, new AbortController().signal).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SeriesContentError);
    expect((error as SeriesContentError).retryable).toBe(true);
  });

  it('breaks the upload off when a damaged header names another series, but lets the MD5 list give the verdict', async () => {
    const file = nbia.instance(UID, 0);
    const offset = file.indexOf(Buffer.from(UID, 'latin1')) + UID.length - 1;
    nbia.faults.set({ corruptByte: { entryIndex: 3, offset } });
    const { start, result } = capture();
    const error = await relaySeries(download(), { seriesUid: UID, studyUid: '', imageCount: 6 }, start, new AbortController().signal).catch((e: unknown) => e);
    // A transfer error, retried like any other MD5 mismatch; not "belongs to series".
    expect(error).toBeInstanceOf(Md5MismatchError);
    const captured = await result;
    expect(captured.ended).toBe(false);
    expect(captured.error).toBeDefined();
  });

  it('checks the series UID in every header against the plan', async () => {
    const { start } = capture();
    await expect(relaySeries(download(), { seriesUid: '1.2.3', studyUid: '', imageCount: 6 }, start, new AbortController().signal)).rejects.toThrow(/belongs to series/);
  });
});
