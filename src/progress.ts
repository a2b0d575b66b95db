import type { Logger } from './log.js';

export interface ProgressOptions {
  logger: Logger;
  /** A terminal to draw a live bar on (stderr when it is a TTY), or undefined for periodic log lines. */
  tty?: NodeJS.WriteStream;
  enabled: boolean;
  /** Seconds between progress lines when there is no terminal. */
  intervalSeconds?: number;
}

/** Counts what the run has done and shows it: a live bar on a terminal, a concise line every few seconds elsewhere. */
export class Progress {
  private phase = 'starting';
  private seriesTotal = 0;
  private seriesDone = 0;
  private seriesFailed = 0;
  private bytesTotal = 0;
  private bytes = 0;
  private files = 0;
  private readonly started = Date.now();
  private transferStarted = 0;
  private timer?: NodeJS.Timeout;
  private lastLine = 0;
  private readonly options: ProgressOptions;

  constructor(options: ProgressOptions) {
    this.options = options;
  }

  plan(done: number, total: number): void {
    this.phase = 'planning';
    this.seriesDone = done;
    this.seriesTotal = total;
    this.tick();
  }

  startTransfer(series: number, bytes: number): void {
    this.phase = 'transfer';
    this.seriesTotal = series;
    this.seriesDone = 0;
    this.bytesTotal = bytes;
    this.transferStarted = Date.now();
    if (!this.options.enabled) return;
    this.timer = setInterval(() => this.tick(), this.options.tty ? 250 : 1000);
    this.timer.unref();
  }

  addBytes(n: number): void {
    this.bytes += n;
  }

  seriesFinished(ok: boolean, files: number): void {
    this.seriesDone += 1;
    if (!ok) this.seriesFailed += 1;
    this.files += files;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.options.tty && this.options.enabled) this.options.tty.write('\r\x1b[K');
  }

  /** Text of the current state, e.g. "12/24 series, 2400 files, 1.2/2.4 GB, 85.0 MB/s, ETA 0:14". */
  line(): string {
    if (this.phase === 'planning') return `planning: metadata for ${this.seriesDone}/${this.seriesTotal} series`;
    const seconds = Math.max(0.001, (Date.now() - (this.transferStarted || this.started)) / 1000);
    const rate = this.bytes / seconds;
    const remaining = this.bytesTotal > this.bytes && rate > 0 ? (this.bytesTotal - this.bytes) / rate : 0;
    const failed = this.seriesFailed ? ` (${this.seriesFailed} failed)` : '';
    return `${this.seriesDone}/${this.seriesTotal} series${failed}, ${this.files} files, ${gb(this.bytes)}/${gb(this.bytesTotal)} GB, ${(rate / 1e6).toFixed(1)} MB/s, ETA ${clock(remaining)}`;
  }

  private tick(): void {
    if (!this.options.enabled) return;
    const tty = this.options.tty;
    if (tty) {
      const width = Math.max(10, Math.min(30, (tty.columns ?? 80) - 90));
      const fraction = this.bytesTotal > 0 ? Math.min(1, this.bytes / this.bytesTotal) : this.seriesTotal ? this.seriesDone / this.seriesTotal : 0;
      const filled = Math.round(fraction * width);
      tty.write(`\r\x1b[K[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.line()}`);
      return;
    }
    const interval = (this.options.intervalSeconds ?? 10) * 1000;
    if (Date.now() - this.lastLine < interval) return;
    this.lastLine = Date.now();
    this.options.logger.info(`progress: ${this.line()}`);
  }
}

function gb(bytes: number): string {
  return (bytes / 1e9).toFixed(2);
}

function clock(seconds: number): string {
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}
