import { AbortedError } from '../../errors.js';

/**
 * The run's one budget for IDC downloads (--idc-connections): how many objects are on the wire at once, across
 * every series, and how many bytes of fetched-ahead objects may wait in memory for their series' relay. A series
 * always gets its next file (it waits for a connection only); fetching further ahead never waits, it only happens
 * when both budgets have room, so no series can starve another into a deadlock.
 */
export class IdcLimiter {
  private active = 0;
  private bytesAhead = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly listeners = new Set<() => void>();

  constructor(readonly connections: number, readonly aheadBytes: number) {}

  /** A connection for the next file of a series; resolves with its release. */
  async connection(signal: AbortSignal): Promise<() => void> {
    while (this.active >= this.connections) {
      if (signal.aborted) throw new AbortedError();
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          signal.removeEventListener('abort', leave);
          resolve();
        };
        // An aborted waiter leaves the queue, so a later release wakes someone who still wants it.
        const leave = (): void => {
          this.waiting.splice(this.waiting.indexOf(wake), 1);
          resolve();
        };
        this.waiting.push(wake);
        signal.addEventListener('abort', leave, { once: true });
      });
    }
    if (signal.aborted) throw new AbortedError();
    this.active += 1;
    return once(() => this.releaseConnection());
  }

  /** A connection and `bytes` of memory for a file fetched ahead, if both are free now; else undefined. */
  tryAhead(bytes: number): { releaseConnection: () => void; releaseBytes: () => void } | undefined {
    if (this.active >= this.connections || this.bytesAhead + bytes > this.aheadBytes || this.waiting.length > 0) return undefined;
    this.active += 1;
    this.bytesAhead += bytes;
    return {
      releaseConnection: once(() => this.releaseConnection()),
      releaseBytes: once(() => {
        this.bytesAhead -= bytes;
        this.notify();
      }),
    };
  }

  /** What is in use now: connections, and bytes of objects fetched ahead. */
  usage(): { connections: number; aheadBytes: number } {
    return { connections: this.active, aheadBytes: this.bytesAhead };
  }

  /** Called whenever room frees up, so series can fetch further ahead. */
  onRoom(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private releaseConnection(): void {
    this.active -= 1;
    this.waiting.shift()?.();
    this.notify();
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }
}

function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}
