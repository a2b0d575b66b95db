// The getImage body: a zip streamed entry by entry, as NBIA's java.util.zip.ZipOutputStream writes it.
import { once } from 'node:events';
import { Readable } from 'node:stream';
import archiver from 'archiver';

/** One file to put in the archive. */
export interface ZipSource {
  name: string;
  data: Buffer;
}

/** A fixed timestamp keeps the archive byte-identical across requests. */
const ENTRY_DATE = new Date(2024, 0, 1, 0, 0, 0);

/**
 * Streams `entries` as a zip with DEFLATE entries whose sizes and CRC follow the data in a descriptor (bit 3),
 * the shape ZipOutputStream gives NBIA's getImage (docs/reference/nbia.md#getimage); archiver writes stream sources that
 * way. The next entry is taken from the iterator only once the previous one is written out, so a slow reader
 * holds generation back instead of letting it pile up.
 */
export function zipStream(entries: Iterable<ZipSource>, level = 1): Readable {
  const archive = archiver('zip', { zlib: { level } });
  const stop = new AbortController();
  archive.once('close', () => stop.abort());
  void (async () => {
    for (const entry of entries) {
      const written = once(archive, 'entry', { signal: stop.signal });
      // store: false even at level 0, where zip-stream would otherwise pick STORED, which Java never streams.
      archive.append(Readable.from([entry.data]), { name: entry.name, date: ENTRY_DATE, store: false });
      await written;
    }
    await archive.finalize();
  })().catch((error: unknown) => {
    if (!stop.signal.aborted) archive.destroy(error as Error);
  });
  return archive;
}

/** Java's BufferedOutputStream default size. */
export const JAVA_BUFFER = 8192;

/**
 * NBIA's getImage wraps its ZipOutputStream in a BufferedOutputStream of Java's default 8,192 bytes, and the deflater
 * hands that buffer far smaller pieces, so the body leaves the servlet in writes of exactly 8,192 bytes, the last one
 * shorter (docs/reference/nbia.md#getimage). The emulator's clients see the same write sizes.
 */
export async function* javaBuffered(source: AsyncIterable<Buffer>, size = JAVA_BUFFER): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let length = 0;
  for await (const chunk of source) {
    pending.push(chunk);
    length += chunk.length;
    if (length < size) continue;
    const joined = Buffer.concat(pending, length);
    let at = 0;
    for (; at + size <= joined.length; at += size) yield joined.subarray(at, at + size);
    pending = at < joined.length ? [joined.subarray(at)] : [];
    length = joined.length - at;
  }
  if (length > 0) yield Buffer.concat(pending, length);
}
