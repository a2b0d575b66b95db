import { Transform, type TransformCallback } from 'node:stream';

/**
 * A pass-through that counts the bytes read from it, so a writer can wait for a slow reader: the backpressure
 * between the outgoing zip and XNAT's upload (archiver itself takes whole-buffer entries without any).
 */
export class ByteGauge extends Transform {
  passed = 0;
  private waiters: (() => void)[] = [];

  constructor() {
    super({ highWaterMark: 1024 * 1024 });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.passed += chunk.length;
    done(null, chunk);
    for (const wake of this.waiters.splice(0)) wake();
  }

  /** Resolves once at least `bytes` have passed (at once when that is already true). */
  async reached(bytes: number, signal: AbortSignal): Promise<void> {
    while (this.passed < bytes) {
      if (signal.aborted) throw signal.reason;
      await new Promise<void>((resolve) => {
        const onAbort = (): void => resolve();
        signal.addEventListener('abort', onAbort, { once: true });
        this.waiters.push(() => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        });
      });
    }
  }
}
