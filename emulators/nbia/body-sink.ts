// Writes a streamed body to the socket at the client's pace, with a bandwidth cap and cut-off faults.
import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

/** Per-response pacing and faults; `truncateAfter` and `stallAfter` are body byte offsets. */
export interface SinkOptions {
  bytesPerSecond?: number;
  truncateAfter?: number;
  stallAfter?: number;
}

function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

function closed(res: ServerResponse): Promise<void> {
  return res.destroyed ? Promise.resolve() : new Promise((resolve) => res.once('close', () => resolve()));
}

function flushed(res: ServerResponse, chunk: Buffer): Promise<void> {
  return new Promise((resolve) => res.write(chunk, () => resolve()));
}

/** Body writer whose `write` resolves false once the body must stop (client gone or a fault fired). */
export class BodySink {
  /** Body bytes handed to the socket so far. */
  sent = 0;
  private stopped = false;
  private readonly started = Date.now();
  private readonly slice: number;

  constructor(
    private readonly res: ServerResponse,
    private readonly options: SinkOptions = {},
  ) {
    const bps = options.bytesPerSecond;
    // About 20 slices a second keeps the cap smooth without a timer per few bytes.
    this.slice = bps ? Math.min(64 * 1024, Math.max(1024, Math.floor(bps / 20))) : Infinity;
  }

  /** True when the socket is gone or a fault ended the body. */
  get done(): boolean {
    return this.stopped || this.res.destroyed;
  }

  async write(chunk: Buffer): Promise<boolean> {
    let rest = chunk;
    while (rest.length > 0) {
      if (this.done) return false;
      const limit = Math.min(this.options.truncateAfter ?? Infinity, this.options.stallAfter ?? Infinity);
      const part = rest.subarray(0, Math.min(this.slice, rest.length, limit - this.sent));
      rest = rest.subarray(part.length);
      await this.pace(part.length);
      if (this.done) return false;
      if (this.sent + part.length >= limit) {
        this.sent += part.length;
        await this.cutOff(part);
        return false;
      }
      this.sent += part.length;
      if (!this.res.write(part)) await drainedOrClosed(this.res);
    }
    return !this.done;
  }

  /** Starts the headers on the wire even if a fault stops the body at byte 0. */
  async begin(): Promise<boolean> {
    this.res.flushHeaders();
    const limit = Math.min(this.options.truncateAfter ?? Infinity, this.options.stallAfter ?? Infinity);
    if (limit <= 0) {
      await this.cutOff(Buffer.alloc(0));
      return false;
    }
    return true;
  }

  async end(): Promise<void> {
    if (this.done) return;
    await new Promise<void>((resolve) => this.res.end(() => resolve()));
  }

  private async pace(bytes: number): Promise<void> {
    const bps = this.options.bytesPerSecond;
    if (!bps) return;
    const due = this.started + ((this.sent + bytes) * 1000) / bps;
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait);
  }

  private async cutOff(last: Buffer): Promise<void> {
    this.stopped = true;
    const truncate = (this.options.truncateAfter ?? Infinity) <= (this.options.stallAfter ?? Infinity);
    await flushed(this.res, last);
    if (truncate) {
      // A plain destroy sends FIN after the flushed bytes; a RST could make Linux drop data the client has not read yet.
      this.res.destroy();
      return;
    }
    // Stall: keep the socket open and silent until the client (or emulator shutdown) closes it.
    await closed(this.res);
  }
}
