import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createDeflateRaw } from 'node:zlib';
import type { DeclaredSums } from '../sources/types.js';
import { giveBackDownloaded } from './download-memory.js';
import { ZipWriter } from './zip/zip-writer.js';

/**
 * zlib level for a file that arrives uncompressed and is too large to hold. Level 0 writes stored DEFLATE blocks: a
 * copy plus framing, where level 1 costs several times the rest of the relay per byte (docs/benchmarks.md).
 */
const STREAM_LEVEL = 0;

/** A streamed entry being written; `write` counts the DICOM bytes a chunk stands for (progress). */
export interface EntryStream {
  write(chunk: Buffer, dicomBytes: number): Promise<void>;
  /** The entry's data is all written; its data descriptor waits, held back like a whole file. */
  end(sums: DeclaredSums): void;
}

/**
 * The zip XNAT imports, written as files are verified (src/transfer/zip/zip-writer.ts; docs/reference/zip.md#java-reader
 * for what java.util.zip.ZipInputStream, which XNAT's importer reads uploads with, accepts):
 * - a file that came compressed goes out with TCIA's DEFLATE bytes as they are: whole, with its CRC-32 and sizes in
 *   the local header, or streamed, with a data descriptor;
 * - a file that came uncompressed goes out whole as STORED with its CRC-32 up front, or, too large to hold, as
 *   DEFLATED level 0 with a data descriptor (Java refuses STORED entries that defer their sizes to a descriptor).
 *
 * The newest whole file, or the data descriptor of the newest streamed one, is held back until the next file goes
 * out, and the last one until the check list has confirmed them all. So a series that fails verification never
 * reaches XNAT complete: a prearchive scan holding every file of its series proves the tool verified that series,
 * which is what lets a later run commit what an interrupted run left behind.
 */
export class OutgoingZip {
  private readonly writer: ZipWriter;
  /** The upload's body; writes wait while XNAT takes no more. */
  readonly body: Readable;
  private held: { send: () => Promise<void>; dicomBytes: number } | undefined;
  private broken = false;

  constructor(private readonly signal: AbortSignal, private readonly onBytes: (dicomBytes: number) => void) {
    // A whole file is checked before it is added, so its download chunks can go once the zip has copied them.
    this.writer = new ZipWriter({ signal, giveBack: giveBackDownloaded });
    this.body = this.writer.output;
    // Errors on the outgoing zip reach the relay through the upload; without an upload there is nobody else to tell.
    this.body.on('error', () => undefined);
  }

  /** Holds a whole, checked, uncompressed file back (STORED, its chunks as they came), sending the one held before it. */
  async holdStored(name: string, parts: readonly Buffer[], sums: DeclaredSums): Promise<void> {
    await this.hold(() => this.writer.addStored(name, parts, sums.crc), sums.size);
  }

  /** Holds a whole, checked, compressed file back (its DEFLATE bytes as they came), sending the one held before it. */
  async holdDeflated(name: string, raw: Buffer[], sums: DeclaredSums): Promise<void> {
    await this.hold(() => this.writer.addDeflated(name, raw, sums), sums.size);
  }

  /** Sends the file (or descriptor) held back, if any. */
  async releaseHeld(): Promise<void> {
    const held = this.held;
    if (!held || this.broken) return;
    this.held = undefined;
    await held.send();
    this.onBytes(held.dicomBytes);
  }

  /** Starts copying a compressed file too large to hold, whose header has been checked. */
  async streamDeflated(name: string): Promise<EntryStream> {
    await this.releaseHeld();
    const entry = await this.writer.beginDeflated(name);
    let reported = 0;
    return {
      write: async (chunk, dicomBytes) => {
        await entry.write(chunk);
        reported += dicomBytes;
        this.onBytes(dicomBytes);
      },
      end: (sums) => void (this.held = { send: () => entry.end(sums), dicomBytes: sums.size - reported }),
    };
  }

  /** Streams an uncompressed file too large to hold: its checked start, then the rest as it arrives. */
  async streamPlain(name: string, start: readonly Buffer[], rest: AsyncIterable<Buffer>, sums: () => DeclaredSums): Promise<void> {
    await this.releaseHeld();
    const entry = await this.writer.beginDeflated(name);
    const onBytes = this.onBytes;
    async function* counted(): AsyncGenerator<Buffer> {
      for (const chunk of [start, rest]) {
        for await (const piece of chunk) {
          yield piece;
          onBytes(piece.length);
        }
      }
    }
    const into = new Writable({ write: (chunk: Buffer, _encoding, done) => void entry.write(chunk).then(() => done(), done) });
    await pipeline(Readable.from(counted(), { objectMode: false }), createDeflateRaw({ level: STREAM_LEVEL }), into, { signal: this.signal });
    this.held = { send: () => entry.end(sums()), dicomBytes: 0 };
  }

  /** Sends what is held and ends the zip properly, once the series has been verified; settles when it is written. */
  async finalize(): Promise<void> {
    await this.releaseHeld();
    await this.writer.finish();
  }

  /** Tears the zip down mid-body, dropping what is held, so XNAT sees a broken upload, not a short but whole zip. */
  breakOff(cause: Error): void {
    this.broken = true;
    this.held = undefined;
    this.writer.destroy(cause);
  }

  private async hold(send: () => Promise<void>, dicomBytes: number): Promise<void> {
    await this.releaseHeld();
    if (!this.broken) this.held = { send, dicomBytes };
  }
}
