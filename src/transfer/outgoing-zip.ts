import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import archiver from 'archiver';
import { ByteGauge } from './byte-gauge.js';

/** Bytes allowed between the zip writer and the upload before the next file waits. */
const IN_FLIGHT = 4 * 1024 * 1024;

/**
 * The zip XNAT imports, written as files are verified. Whole files go out as STORED entries with their sizes in
 * the local header; streamed ones as DEFLATE level 0, because java.util.zip.ZipInputStream, which XNAT's DICOM-zip
 * importer reads uploads with, rejects STORED entries that rely on a data descriptor ("only DEFLATED entries can
 * have EXT descriptor"), and a streamed entry's sizes are only known at its end.
 *
 * The newest whole file is held back until the next one arrives, and the last one until the check list has
 * confirmed them all. So a series that fails verification never reaches XNAT complete: a prearchive scan holding
 * every file of its series proves the tool verified that series, which is what lets a later run commit what an
 * interrupted run left behind.
 */
export class OutgoingZip {
  private readonly archive = archiver('zip', { zlib: { level: 0 }, highWaterMark: 1024 * 1024 });
  /** The upload's body: what XNAT has actually taken is measured here. */
  readonly body = new ByteGauge();
  private appended = 0;
  private held: { bytes: Buffer; name: string } | undefined;

  constructor(private readonly signal: AbortSignal, private readonly onBytes: (dicomBytes: number) => void) {
    // Errors on the outgoing zip reach the relay through the upload; without an upload there is nobody else to tell.
    this.archive.on('error', () => undefined);
    this.body.on('error', () => undefined);
    pipeline(this.archive, this.body).catch(() => undefined);
  }

  /** Holds a whole, checked file back, sending the one held before it. */
  async hold(name: string, bytes: Buffer): Promise<void> {
    await this.releaseHeld();
    this.held = { bytes, name };
  }

  /** Sends the file held back, if any. */
  async releaseHeld(): Promise<void> {
    if (!this.held) return;
    const { bytes, name } = this.held;
    this.held = undefined;
    await this.append(bytes, name);
  }

  /** Streams a file too large to hold: its checked start, then the rest as it arrives. */
  async stream(name: string, head: Buffer, rest: AsyncIterable<Buffer>): Promise<void> {
    await this.releaseHeld();
    const pass = new PassThrough({ highWaterMark: 1024 * 1024 });
    const write = async (data: Buffer): Promise<void> => {
      if (!pass.write(data)) await once(pass, 'drain', { signal: this.signal });
      this.onBytes(data.length);
    };
    await this.append(pass, name, async () => {
      await write(head);
      for await (const chunk of rest) await write(chunk);
      pass.end();
    });
  }

  /** Ends the zip properly, once the series has been verified and the held file sent; settles when it is written. */
  finalize(): Promise<void> {
    return this.archive.finalize();
  }

  /** Tears the zip down mid-body, dropping the held file, so XNAT sees a broken upload, not a short but whole zip. */
  breakOff(cause: Error): void {
    this.held = undefined;
    this.archive.destroy(cause);
    this.body.destroy(cause);
  }

  /** Appends one entry and waits until archiver has written it out, so at most one file is in flight. */
  private async append(source: Buffer | PassThrough, name: string, feed?: () => Promise<void>): Promise<void> {
    const whole = Buffer.isBuffer(source);
    if (whole) {
      // Keep at most IN_FLIGHT bytes between what was handed to archiver and what XNAT has taken.
      await this.body.reached(this.appended - IN_FLIGHT, this.signal);
      this.appended += source.length;
    }
    const written = once(this.archive, 'entry', { signal: this.signal });
    // Explicit either way: at zlib level 0 zip-stream would default every entry to STORED.
    this.archive.append(source, { name, store: whole });
    if (feed) await feed();
    await written;
    if (whole) this.onBytes(source.length);
  }
}
