import type { Logger } from './log.js';
import { formatSize } from './units.js';

export interface ProgressOptions {
  logger: Logger;
  /** A terminal to draw a live bar on (stderr when it is a TTY), or undefined for periodic log lines. */
  tty?: NodeJS.WriteStream;
  enabled: boolean;
  /** Seconds between progress lines when there is no terminal. */
  intervalSeconds?: number;
}

/** The ETA follows the rate of the last this-many seconds, so a slow start or a stall does not skew it for long. */
const RATE_WINDOW_MS = 20_000;

/**
 * Counts what the run has done and shows it: a live bar on a terminal, a concise line every few seconds elsewhere.
 * Bytes are DICOM bytes handed to XNAT's upload, counted once per series: a retry takes back what its failed
 * attempt counted, and a failed series leaves the total, so a finished run stands at 100 %.
 */
export class Progress {
  private phase = 'starting';
  private seriesTotal = 0;
  private seriesDone = 0;
  private seriesFailed = 0;
  private bytesTotal = 0;
  private bytes = 0;
  private files = 0;
  /** Bytes of each series' current attempt. */
  private readonly inFlight = new Map<string, number>();
  private readonly finished = new Set<string>();
  private samples: { at: number; bytes: number }[] = [];
  private transferStarted = 0;
  private transferEnded = 0;
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
    this.samples = [{ at: this.transferStarted, bytes: 0 }];
    if (!this.options.enabled) return;
    this.timer = setInterval(() => this.tick(), this.options.tty ? 250 : 1000);
    this.timer.unref();
  }

  /** DICOM bytes of a series handed to XNAT. */
  addBytes(series: string, n: number): void {
    this.inFlight.set(series, (this.inFlight.get(series) ?? 0) + n);
    this.bytes += n;
  }

  /** A series starts (again): whatever an earlier attempt counted is taken back, since it is sent again. */
  restartSeries(series: string): void {
    this.bytes -= this.inFlight.get(series) ?? 0;
    this.inFlight.set(series, 0);
  }

  /** `plannedBytes` leaves the total when the series failed, so the bar can still reach its end. */
  seriesFinished(series: string, ok: boolean, files: number, plannedBytes: number): void {
    if (!ok) {
      this.restartSeries(series);
      this.bytesTotal = Math.max(0, this.bytesTotal - plannedBytes);
    }
    // A series sent again into a clean prearchive session finishes twice; it is one series.
    if (this.finished.has(series)) return;
    this.finished.add(series);
    this.seriesDone += 1;
    if (!ok) this.seriesFailed += 1;
    this.files += files;
  }

  /** Ends the transfer display: the final state stays on screen (or in the log) and the transfer clock stops. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    const wasRunning = this.timer !== undefined;
    this.timer = undefined;
    if (this.phase === 'transfer' && !this.transferEnded) this.transferEnded = Date.now();
    if (!this.options.enabled) return;
    if (!wasRunning) {
      if (this.options.tty) this.options.tty.write('\r\x1b[K');
      return;
    }
    if (this.options.tty) this.options.tty.write(`${this.bar()}\n`);
    else this.options.logger.info(`progress: ${this.line()}`);
  }

  /** Seconds from the start of the transfer to its end (or now), the clock both the bar and the summary use. */
  transferSeconds(): number {
    if (!this.transferStarted) return 0;
    return ((this.transferEnded || Date.now()) - this.transferStarted) / 1000;
  }

  /** Text of the current state, e.g. "12/24 series, 2400 files, 1.20 GB/2.40 GB (50%), 85.0 MB/s, ETA 0:14". */
  line(): string {
    if (this.phase === 'planning') return `planning: metadata for ${this.seriesDone}/${this.seriesTotal} series`;
    const seconds = Math.max(0.001, this.transferSeconds());
    const failed = this.seriesFailed ? ` (${this.seriesFailed} failed)` : '';
    const percent = Math.floor(this.fraction() * 100);
    return `${this.seriesDone}/${this.seriesTotal} series${failed}, ${this.files} files, ${formatSize(this.bytes)}/${formatSize(this.bytesTotal)} (${percent}%), ${megabytesPerSecond(this.bytes, seconds)} MB/s, ETA ${this.eta()}`;
  }

  private fraction(): number {
    if (this.bytesTotal > 0) return Math.min(1, Math.max(0, this.bytes / this.bytesTotal));
    return this.seriesTotal ? this.seriesDone / this.seriesTotal : 1;
  }

  private eta(): string {
    if (this.transferEnded || this.bytes >= this.bytesTotal) return clock(0);
    const now = Date.now();
    this.samples.push({ at: now, bytes: this.bytes });
    while (this.samples.length > 2 && now - this.samples[1]!.at > RATE_WINDOW_MS) this.samples.shift();
    const first = this.samples[0]!;
    const rate = now > first.at ? (this.bytes - first.bytes) / ((now - first.at) / 1000) : 0;
    return rate > 0 ? clock((this.bytesTotal - this.bytes) / rate) : '--:--';
  }

  private bar(): string {
    const width = Math.max(10, Math.min(30, (this.options.tty?.columns ?? 80) - 90));
    const filled = Math.round(this.fraction() * width);
    return `\r\x1b[K[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.line()}`;
  }

  private tick(): void {
    if (!this.options.enabled) return;
    if (this.options.tty) {
      this.options.tty.write(this.bar());
      return;
    }
    const interval = (this.options.intervalSeconds ?? 10) * 1000;
    if (Date.now() - this.lastLine < interval) return;
    this.lastLine = Date.now();
    this.options.logger.info(`progress: ${this.line()}`);
  }
}

/** Average MB/s over the transfer; the summary uses the same function, so the two always agree. */
export function megabytesPerSecond(bytes: number, seconds: number): string {
  return seconds > 0 ? (bytes / 1e6 / seconds).toFixed(1) : '0.0';
}

function clock(seconds: number): string {
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}
