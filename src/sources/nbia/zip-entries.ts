import { PassThrough, type Readable } from 'node:stream';
import unzip from 'unzip-stream';
import { AbortedError, ZipFormatError } from '../../errors.js';

export type ZipEntry = Readable & { path: string; type: string; autodrain(): void };

/**
 * The entries of a streamed zip, one at a time; each must be read before the next arrives. unzip-stream's
 * ParserStream emits 'close' from its flush before its readable side ends, which stream.finished (and so
 * pipeline and async iteration) reports as a premature close, so its entries are handed on through a plain
 * object stream instead. A source that fails mid-entry fails the entry being read too, so nothing waits forever.
 */
export function readZipEntries(source: Readable, signal: AbortSignal): AsyncIterable<ZipEntry> {
  const parser = unzip.Parse();
  const entries = new PassThrough({ objectMode: true });
  let current: ZipEntry | undefined;
  const fail = (error: Error): void => {
    // The reader may be waiting inside the current entry; failing it too is what wakes the reader up.
    if (current && !current.readableEnded) current.destroy(error);
    entries.destroy(error);
    source.destroy();
  };
  parser.on('entry', (entry: ZipEntry) => {
    current = entry;
    // A reader hears of a failure through its iterator; an entry nobody reads (LICENSE, drained) must not crash.
    entry.on('error', () => undefined);
    entries.write(entry);
  });
  // unzip-stream's own errors carry no code; they mean the bytes that reached it do not form a zip.
  parser.on('error', (error: Error) => fail(new ZipFormatError(`the TCIA zip does not parse: ${error.message}`, { cause: error })));
  source.on('error', fail);
  // unzip-stream itself fails a zip that stops inside an entry ("Stream finished in an invalid state").
  parser.on('close', () => entries.end());
  const onAbort = (): void => fail(signal.reason instanceof Error ? signal.reason : new AbortedError());
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  entries.once('close', () => signal.removeEventListener('abort', onAbort));
  source.pipe(parser);
  return entries;
}
