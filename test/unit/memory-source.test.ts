// The source seam: a source that is nothing but files in memory and their checks goes through the same relay,
// verification and outgoing zip as NBIA's getImage zip.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import unzip from 'unzip-stream';
import { makeInstance, seriesSpecFromUid } from '../../emulators/nbia/index.js';
import { Md5MismatchError, SeriesContentError } from '../../src/errors.js';
import type { FileCheck, SourceSeries } from '../../src/sources/types.js';
import { relaySource, type StartUpload } from '../../src/transfer/relay-series.js';
import { sentName } from '../support/sent-names.js';

const SPEC = seriesSpecFromUid('1.2.826.0.1.3680043.8.498.1.9.77', { imagesPerSeries: [5, 5], rows: 64, columns: 64, modalities: ['MR'] });
const URI = '/data/prearchive/projects/P/20260101_000000000/S';

interface MemoryFile {
  name: string;
  bytes: Buffer;
  check: FileCheck;
}

function files(): MemoryFile[] {
  return Array.from({ length: SPEC.imageCount }, (_, i) => {
    const bytes = makeInstance(SPEC, i);
    return { name: `${i + 1}.dcm`, bytes, check: { kind: 'md5', md5: createHash('md5').update(bytes).digest('hex') } };
  });
}

/** The trivial source: files handed over as they are, the list known from the start. */
function memorySeries(served: MemoryFile[], listed: MemoryFile[] = served): SourceSeries & { closed: boolean } {
  const series = {
    source: 'idc' as const,
    seriesUid: SPEC.seriesUid,
    verified: 'md5' as const,
    closed: false,
    async *files() {
      for (const file of served) yield { name: file.name, body: Readable.from([file.bytes]) };
    },
    checkList: async () => ({ checks: new Map(listed.map((f) => [f.name, f.check])), listName: 'the memory list', holder: 'memory' }),
    close: () => void (series.closed = true),
  };
  return series;
}

interface Uploaded {
  entries: Map<string, Buffer>;
  ended: boolean;
}

/** Stands in for XNAT's import: reads the outgoing zip whole and records how its body ended. */
function capture(): { start: StartUpload; uploaded: Promise<Uploaded> } {
  let done: (u: Uploaded) => void = () => undefined;
  const uploaded = new Promise<Uploaded>((resolve) => (done = resolve));
  const start: StartUpload = (zip) => new Promise<string>((resolve, reject) => {
    const raw: Buffer[] = [];
    zip.on('data', (chunk: Buffer) => raw.push(chunk));
    zip.on('error', (error) => {
      done({ entries: new Map(), ended: false });
      reject(error);
    });
    zip.on('end', () => {
      const entries = new Map<string, Buffer>();
      Readable.from([Buffer.concat(raw)]).pipe(unzip.Parse())
        .on('entry', (entry: Readable & { path: string }) => {
          const parts: Buffer[] = [];
          entry.on('data', (c: Buffer) => parts.push(c)).on('end', () => entries.set(entry.path, Buffer.concat(parts)));
        })
        .on('close', () => {
          done({ entries, ended: true });
          resolve(URI);
        });
    });
  });
  return { start, uploaded };
}

const expected = { seriesUid: SPEC.seriesUid, studyUid: SPEC.studyUid, imageCount: SPEC.imageCount };

describe('relaySource with an in-memory source', () => {
  it('names files by SOPInstanceUID; an instance held twice goes out as <uid>-2.dcm, the same names in any order', async () => {
    const base = files();
    // The last file is a second copy of the first instance (same SOPInstanceUID), as some series hold.
    const twice = { ...base[0]!, name: `${base.length + 1}.dcm` };
    const names: string[][] = [];
    for (const order of [[...base, twice], [twice, ...base].reverse()]) {
      const { start, uploaded } = capture();
      await relaySource(memorySeries(order), { ...expected, imageCount: order.length }, start, new AbortController().signal);
      names.push([...(await uploaded).entries.keys()].sort());
    }
    const first = sentName(base[0]!.bytes);
    expect(names[0]).toContain(first.replace(/\.dcm$/, '-2.dcm'));
    expect(names[0]).toHaveLength(base.length + 1);
    expect(names[1]).toEqual(names[0]);
  });

  it('delivers every verified file byte for byte', async () => {
    const all = files();
    const { start, uploaded } = capture();
    const { stats, uri } = await relaySource(memorySeries(all), expected, start, new AbortController().signal);
    expect(uri).toBe(URI);
    expect(stats).toEqual({ files: 5, bytes: all.reduce((n, f) => n + f.bytes.length, 0), md5Verified: 5 });
    const { entries, ended } = await uploaded;
    expect(ended).toBe(true);
    expect([...entries.keys()].sort()).toEqual(all.map((f) => sentName(f.bytes)).sort());
    for (const file of all) expect(entries.get(sentName(file.bytes))?.equals(file.bytes)).toBe(true);
  });

  it('takes the MD5 a source vouches for (SourceFile.md5, IDC\'s checked object stream) instead of hashing the bytes again', async () => {
    const all = files();
    // The source says it matched these bytes against the listed MD5; the relay, hashing nothing, reports that MD5.
    const altered = all.map((f) => ({ ...f, bytes: Buffer.concat([f.bytes.subarray(0, -1), Buffer.from([f.bytes.at(-1)! ^ 1])]) }));
    const vouched = { ...memorySeries(altered, all), async *files() {
      for (const [i, file] of altered.entries()) yield { name: file.name, body: Readable.from([file.bytes]), md5: (all[i]!.check as { md5: string }).md5 };
    } };
    const { stats } = await relaySource(vouched, expected, capture().start, new AbortController().signal);
    expect(stats).toMatchObject({ files: 5, md5Verified: 5 });
    // Without the source's word, the same bytes fail their MD5.
    await expect(relaySource(memorySeries(altered, all), expected, capture().start, new AbortController().signal)).rejects.toBeInstanceOf(Md5MismatchError);
  });

  it('fails an MD5 mismatch, breaks the upload off and closes the source', async () => {
    const all = files();
    const served = all.map((f, i) => (i === 1 ? { ...f, bytes: Buffer.concat([f.bytes.subarray(0, -1), Buffer.from([f.bytes.at(-1)! ^ 1])]) } : f));
    const { start, uploaded } = capture();
    const series = memorySeries(served, all);
    await expect(relaySource(series, expected, start, new AbortController().signal)).rejects.toBeInstanceOf(Md5MismatchError);
    expect((await uploaded).ended).toBe(false);
    expect(series.closed).toBe(true);
  });

  it('fails a file missing from the list, and one listed but never served', async () => {
    const all = files();
    const notListed = await relaySource(memorySeries(all, all.slice(1)), expected, capture().start, new AbortController().signal).catch((e: unknown) => e);
    expect((notListed as Error).message).toBe('1.dcm is not listed in the memory list');
    const missing = await relaySource(memorySeries(all.slice(0, 4), all), { ...expected, imageCount: 0 }, capture().start, new AbortController().signal).catch((e: unknown) => e);
    expect((missing as Error).message).toBe('1 file(s) listed in the memory list are missing from memory (first: 5.dcm)');
  });

  it('gives the header verdict only once the list has confirmed the file', async () => {
    const other = seriesSpecFromUid('1.2.826.0.1.3680043.8.498.1.9.78', { imagesPerSeries: [5, 5], rows: 64, columns: 64, modalities: ['MR'] });
    const all = files();
    const stranger = makeInstance(other, 2);
    const listedRight = all.map((f, i) => (i === 2 ? { name: f.name, bytes: stranger, check: { kind: 'md5' as const, md5: createHash('md5').update(stranger).digest('hex') } } : f));
    const verdict = await relaySource(memorySeries(listedRight), expected, capture().start, new AbortController().signal).catch((e: unknown) => e);
    expect((verdict as Error).message).toMatch(/^3\.dcm belongs to series 1\.2\.826\.0\.1\.3680043\.8\.498\.1\.9\.78/);
    expect((verdict as SeriesContentError).retryable).toBe(false);
    // The same stranger against the MD5 of the right file is damage in transit: retried, not reported.
    const damaged = listedRight.map((f, i) => ({ ...f, check: all[i]!.check }));
    await expect(relaySource(memorySeries(damaged), expected, capture().start, new AbortController().signal)).rejects.toBeInstanceOf(Md5MismatchError);
  });
});
