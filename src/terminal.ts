/** Terminal and pipe plumbing of the command line's own output. */
import { Writable } from 'node:stream';

/** Stdout that wipes the progress bar's line before each write. */
export function wipingFirst(bar: NodeJS.WriteStream): Writable {
  return new Writable({
    write(chunk, _encoding, done) {
      bar.write('\r\x1b[K');
      process.stdout.write(chunk, done);
    },
  });
}

/**
 * A reader that goes away (`| head`) makes the next write fail with EPIPE. That is not the tool's failure:
 * further output to that stream is dropped and the command ends as it would have.
 */
export function endQuietlyOnClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    stream.write = (() => true) as typeof stream.write;
  });
}
