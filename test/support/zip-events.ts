// A zip read through the tool's reader (src/transfer/zip/zip-entry-reader.ts), entry by entry, for tests.
import { Readable } from 'node:stream';
import { readZipEvents, type EntryEnd, type LocalEntry } from '../../src/transfer/zip/zip-entry-reader.js';

/** One entry as the reader gave it: its header, its raw (still compressed) bytes joined, and its end. */
export interface ReadEntry {
  entry: LocalEntry;
  raw: Buffer;
  end: EntryEnd;
}

/** `zip` in pieces of `size` bytes, the last one shorter. */
export const pieces = (zip: Buffer, size: number): Buffer[] => Array.from({ length: Math.ceil(zip.length / size) }, (_, i) => zip.subarray(i * size, (i + 1) * size));

/** Every entry of a zip that arrives in `chunks`. */
export async function readEntries(chunks: Buffer[]): Promise<ReadEntry[]> {
  const out: ReadEntry[] = [];
  let parts: Buffer[] = [];
  let entry: LocalEntry | undefined;
  for await (const event of readZipEvents(Readable.from(chunks))) {
    if (event.kind === 'entry') [entry, parts] = [event.entry, []];
    else if (event.kind === 'data') parts.push(event.chunk);
    else if (entry) out.push({ entry, raw: Buffer.concat(parts), end: event.end });
  }
  return out;
}
