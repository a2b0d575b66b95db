import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { inflateRawSync } from 'node:zlib';
import { AbortedError, SeriesContentError } from '../../errors.js';
import type { NbiaClient } from '../../tcia/nbia-client.js';
import { crc32 } from '../../transfer/zip/crc32.js';
import { readZipEvents, type EntryEnd, type ZipEvent } from '../../transfer/zip/zip-entry-reader.js';
import type { CheckList, SeriesSource, SourceFile, SourceSeries } from '../types.js';
import { parseMd5List } from './md5-list.js';
import { streamChunks } from '../stream-chunks.js';
import { noteDownloaded } from '../../transfer/download-memory.js';

const STORED = 0;
const DEFLATED = 8;

/** md5hashes.csv as the list a series is verified against; a zip without one cannot be verified. */
export function md5CheckList(published: Map<string, string> | undefined, uid: string): CheckList {
  if (!published) throw new SeriesContentError('the TCIA zip has no md5hashes.csv, so the files cannot be verified', uid, { retryable: true });
  const checks = new Map([...published].map(([name, md5]) => [name, { kind: 'md5' as const, md5 }]));
  return { checks, listName: 'md5hashes.csv', holder: 'the TCIA zip' };
}

/**
 * One NBIA getImage zip as a series: its DICOM entries in zip order, DEFLATED ones still compressed (with the CRC-32
 * and size TCIA's data descriptor gives), so the relay can copy them through; LICENSE and directories are dropped, and
 * md5hashes.csv (the last entry, docs/reference/nbia.md#md5-list) becomes the check list.
 */
export function nbiaZipSeries(download: Readable, uid: string): SourceSeries {
  let published: Map<string, string> | undefined;
  async function* files(signal: AbortSignal): AsyncGenerator<SourceFile> {
    // Once the relay gives up, a read waiting on TCIA must fail rather than wait.
    const onAbort = (): void => void download.destroy(signal.reason instanceof Error ? signal.reason : new AbortedError());
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const events = readZipEvents(streamChunks(download, noteDownloaded));
      for (let next = await events.next(); !next.done; next = await events.next()) {
        if (next.value.kind !== 'entry') continue;
        const { entry } = next.value;
        // The entry's whole name, so two files in different folders stay two (the check list matches folders
        // against its bare names, verification.ts); LICENSE and md5hashes.csv are known wherever they sit.
        const name = entry.name.replace(/^(\.\/)+/, '');
        const base = basename(name);
        let end: EntryEnd | undefined;
        const chunks = entryData(events, (e) => (end = e));
        const sums = (): EntryEnd => {
          if (!end) throw new Error(`${name}: sums asked for before its bytes were read`);
          return end;
        };
        if (entry.name.endsWith('/') || base === 'LICENSE') {
          for await (const chunk of chunks) void chunk;
        } else if (entry.method !== STORED && entry.method !== DEFLATED) {
          throw new SeriesContentError(`${name} in the TCIA zip uses compression method ${entry.method}, which the tool cannot read`, uid, { retryable: true });
        } else if (base === 'md5hashes.csv') {
          published = await parseMd5List((await wholeEntry(chunks, entry.method, sums, uid, name)).toString('utf8'));
        } else if (entry.method === DEFLATED) {
          yield { name, deflated: { chunks, sums } };
        } else {
          yield { name, body: Readable.from(chunks, { objectMode: false }) };
        }
        // Whatever the reader left of the entry is skipped, so the next event is the next entry.
        for await (const chunk of chunks) void chunk;
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }
  return {
    source: 'nbia',
    seriesUid: uid,
    verified: 'md5',
    files,
    checkList: async () => md5CheckList(published, uid),
    close: () => download.destroy(),
  };
}

/** One entry's raw bytes from the zip's events, up to its end, which is handed to `onEnd`. */
async function* entryData(events: AsyncGenerator<ZipEvent>, onEnd: (end: EntryEnd) => void): AsyncGenerator<Buffer> {
  for (let next = await events.next(); !next.done; next = await events.next()) {
    const event = next.value;
    if (event.kind === 'data') yield event.chunk;
    else if (event.kind === 'end') return onEnd(event.end);
  }
}

/** A small entry (md5hashes.csv) whole, inflated and checked against its CRC-32. */
async function wholeEntry(chunks: AsyncIterable<Buffer>, method: number, sums: () => EntryEnd, uid: string, name: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  let data: Buffer;
  try {
    data = method === DEFLATED ? inflateRawSync(Buffer.concat(parts)) : Buffer.concat(parts);
  } catch (error) {
    throw new SeriesContentError(`${name} in the TCIA zip does not inflate: ${(error as Error).message}`, uid, { retryable: true, cause: error });
  }
  const { crc, size } = sums();
  if (data.length !== size || crc32(data) !== crc >>> 0) throw new SeriesContentError(`${name}: CRC-32 or size does not match the zip's record of it`, uid, { retryable: true });
  return data;
}

/** NBIA's REST API as a source: every series it is asked for, one getImage zip per attempt. */
export class NbiaSource implements SeriesSource {
  readonly name = 'nbia' as const;

  constructor(private readonly nbia: Pick<NbiaClient, 'openSeries'>) {}

  async open(seriesUid: string, signal: AbortSignal): Promise<SourceSeries> {
    return nbiaZipSeries(await this.nbia.openSeries(seriesUid, signal), seriesUid);
  }
}
