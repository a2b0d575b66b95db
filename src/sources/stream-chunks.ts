import { finished, type Readable } from 'node:stream';

/**
 * A download's chunks one at a time, as the socket delivered them. A Readable's own async iterator calls read(),
 * which joins every chunk buffered so far into a new Buffer: a copy of much of the download whenever the relay falls
 * behind the socket (4-8 % of the tool's CPU in docs/benchmarks.md). In flowing mode each 'data' event is one chunk,
 * handed on as it is; the stream is paused while chunks wait, so backpressure reaches TCIA as before. `onChunk`
 * hears each chunk's size as it arrives.
 */
export async function* streamChunks(stream: Readable, onChunk?: (bytes: number) => void): AsyncGenerator<Buffer> {
  const waiting: Buffer[] = [];
  let ended = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const onData = (chunk: Buffer): void => {
    onChunk?.(chunk.length);
    waiting.push(chunk);
    stream.pause();
    wake?.();
  };
  stream.on('data', onData);
  const stop = finished(stream, (error) => {
    if (error) failure ??= error;
    else ended = true;
    wake?.();
  });
  try {
    for (;;) {
      const chunk = waiting.shift();
      if (chunk) yield chunk;
      else if (failure !== undefined) throw failure;
      else if (ended) return;
      else {
        await new Promise<void>((resolve) => {
          wake = resolve;
          stream.resume();
        });
        wake = undefined;
      }
    }
  } finally {
    stream.off('data', onData);
    stop();
  }
}

/**
 * The first `maxBytes` of a stream (all of it when shorter), for a header or an error message; the caller destroys
 * the stream. With `keepOnError` a failing stream yields what arrived before the failure instead of throwing.
 */
export async function readStart(stream: Readable, maxBytes: number, options: { keepOnError?: boolean } = {}): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of streamChunks(stream)) {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= maxBytes) break;
    }
  } catch (error) {
    if (!options.keepOnError) throw error;
  }
  return Buffer.concat(chunks).subarray(0, maxBytes);
}
