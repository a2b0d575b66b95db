import { createHash, type Hash } from 'node:crypto';
import { once } from 'node:events';
import { createInflateRaw, inflateRawSync, type InflateRaw } from 'node:zlib';
import { SeriesContentError } from '../errors.js';
import type { DeclaredSums } from '../sources/types.js';
import { freeNow } from './download-memory.js';
import type { FileDigest } from './verification.js';
import { crc32 } from './zip/crc32.js';

/**
 * MD5, CRC-32 (zip/crc32.ts) and length of one file's bytes, taken as its chunks go by, and the first `headLimit`
 * bytes kept for the header check. With `sourceMd5` (a source that matches the bytes itself, SourceFile.md5) the
 * bytes are not hashed again and that MD5 is the one reported.
 */
export class Digester {
  private readonly hash: Hash | undefined;
  crc = 0;
  size = 0;
  private head: Buffer[] = [];
  private headSize = 0;

  constructor(private readonly headLimit = 0, private readonly sourceMd5?: string) {
    this.hash = sourceMd5 === undefined ? createHash('md5') : undefined;
  }

  add(chunk: Buffer): void {
    this.hash?.update(chunk);
    this.crc = crc32(chunk, this.crc);
    this.size += chunk.length;
    if (this.headSize < this.headLimit) {
      this.head.push(chunk);
      this.headSize += chunk.length;
    }
  }

  /** The kept start of the file, as one buffer (the chunk itself when there is one); the digester keeps no more. */
  takeHead(): Buffer {
    const head = this.head.length === 1 ? (this.head[0] as Buffer) : Buffer.concat(this.head);
    this.head = [];
    this.headSize = this.headLimit;
    return head;
  }

  /** The kept start of the file, in the chunks it came in; the digester keeps no more. */
  takeParts(): Buffer[] {
    const parts = this.head;
    this.head = [];
    this.headSize = this.headLimit;
    return parts;
  }

  /** The rest of a file, counted as it is read. */
  async *through(chunks: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
    for (let next = await chunks.next(); !next.done; next = await chunks.next()) {
      this.add(next.value);
      yield next.value;
    }
  }

  done(): FileDigest {
    return { md5: this.sourceMd5 ?? (this.hash as Hash).digest('hex'), size: this.size };
  }

  /** The digest, once the bytes are what the source's container says they are: damage in transit otherwise. */
  checked(name: string, sums: DeclaredSums, uid: string): FileDigest {
    if (this.size !== sums.size || this.crc >>> 0 !== sums.crc >>> 0) {
      throw new SeriesContentError(`${name}: CRC-32 or size does not match the zip's record of it`, uid, { retryable: true });
    }
    return this.done();
  }
}

/** The first `bytes` (or more) of chunks as one buffer, joining only as many chunks as that takes. */
export function joinStart(parts: readonly Buffer[], bytes: number): Buffer {
  let count = 0;
  for (let size = 0; count < parts.length && size < bytes; count++) size += (parts[count] as Buffer).length;
  return count === 1 ? (parts[0] as Buffer) : Buffer.concat(parts.slice(0, count));
}

const JOIN_STEP = 256 * 1024;
const JOIN_MAX = 8 * 1024 * 1024;
let joinBuffer = Buffer.alloc(0);

/**
 * An entry's compressed chunks joined for its one inflate call, in a buffer the process reuses: the call is
 * synchronous, so no two entries share it at once, and nothing keeps the joined bytes (XNAT gets the chunks
 * themselves). A fresh buffer per file, allocated, its new pages touched and filled, took 2.2 % of the relay's CPU on
 * Node 26 and 0.9 % on Node 20; this join 0.8 and 0.3 % (docs/benchmarks.md).
 */
function joined(raw: readonly Buffer[]): Buffer {
  let size = 0;
  for (const part of raw) size += part.length;
  if (size > JOIN_MAX) return Buffer.concat(raw, size);
  if (joinBuffer.length < size) joinBuffer = Buffer.allocUnsafeSlow(Math.ceil(size / JOIN_STEP) * JOIN_STEP);
  let at = 0;
  for (const part of raw) {
    joinBuffer.set(part, at);
    at += part.length;
  }
  return joinBuffer.subarray(0, size);
}

/** Bad DEFLATE data is damage in transit, retried like any other. */
function inflateError(name: string, error: unknown, uid: string): SeriesContentError {
  return new SeriesContentError(`${name}: its compressed bytes do not inflate: ${(error as Error).message}`, uid, { retryable: true, cause: error });
}

/** The memory inflateWhole made, which releaseInflated may give back. */
const ownInflated = new WeakSet<ArrayBufferLike>();

/**
 * A whole entry inflated in one zlib call into one buffer sized from its declared size (no more is accepted, so a
 * lying size cannot make it grow); its DEFLATE stream must end exactly where the entry does.
 */
export function inflateWhole(name: string, raw: readonly Buffer[], sums: DeclaredSums, uid: string): Buffer {
  const compressed = raw.length === 1 ? (raw[0] as Buffer) : joined(raw);
  let result: { buffer: Buffer; engine: { bytesWritten: number } };
  const options = { chunkSize: Math.max(64 * 1024, sums.size + 1), maxOutputLength: Math.max(1, sums.size + 1), info: true };
  try {
    result = inflateRawSync(compressed, options) as unknown as typeof result;
  } catch (error) {
    throw inflateError(name, error, uid);
  }
  if (result.engine.bytesWritten !== compressed.length) throw new SeriesContentError(`${name}: data after the end of its DEFLATE stream`, uid, { retryable: true });
  const { buffer } = result;
  // zlib's own output buffer, of exactly the chunk size asked for (never the shared pool of small Buffers), which
  // only this view holds once the call returns.
  if (buffer.byteOffset === 0 && buffer.buffer.byteLength === options.chunkSize) ownInflated.add(buffer.buffer);
  return buffer;
}

/**
 * Gives an inflated side copy's memory back once its file is checked, where the runtime can: left to the garbage
 * collector, V8 on Node 24 and 26 counts every dropped buffer as external memory pressure, and the image's Node
 * ran 21-25 full collections a run for it and peaked 50 MB higher (docs/benchmarks.md). Only memory inflateWhole
 * made is given back (anything else is left alone); the view reads as empty afterwards.
 */
export function releaseInflated(inflated: Buffer): void {
  const memory = inflated.buffer;
  if (!ownInflated.has(memory)) return;
  ownInflated.delete(memory);
  freeNow(memory);
}

/** An entry inflated as its compressed bytes arrive, into a Digester: for entries too large to hold inflated. */
export class StreamInflater {
  private readonly inflater: InflateRaw = createInflateRaw({ chunkSize: 256 * 1024 });
  private fed = 0;
  /** The first zlib error, which may come while nobody is waiting on the stream. */
  private failure: unknown;

  constructor(private readonly name: string, digest: Digester, private readonly uid: string, private readonly signal: AbortSignal) {
    this.inflater.on('data', (data: Buffer) => digest.add(data));
    // Errors reach the caller through the next write, flush or end.
    this.inflater.on('error', (error) => (this.failure ??= error));
  }

  async write(chunk: Buffer): Promise<void> {
    this.fed += chunk.length;
    await this.settle(async () => {
      if (!this.inflater.write(chunk)) await once(this.inflater, 'drain', { signal: this.signal });
    });
  }

  /** Inflates everything written so far (so the head is there to be checked). */
  async flush(): Promise<void> {
    await this.settle(() => new Promise<void>((resolve, reject) => {
      this.inflater.once('error', reject);
      this.inflater.flush(() => {
        this.inflater.off('error', reject);
        resolve();
      });
    }));
  }

  /** Ends the stream; fails unless the DEFLATE data ended exactly where the entry did. */
  async end(): Promise<void> {
    await this.settle(async () => {
      const ended = once(this.inflater, 'end', { signal: this.signal });
      this.inflater.end();
      await ended;
    });
    if (this.inflater.bytesWritten !== this.fed) throw new SeriesContentError(`${this.name}: data after the end of its DEFLATE stream`, this.uid, { retryable: true });
  }

  /** Frees zlib's memory when the entry is given up. */
  destroy(): void {
    this.inflater.destroy();
  }

  private async settle(step: () => Promise<void>): Promise<void> {
    try {
      if (this.failure !== undefined) throw this.failure;
      await step();
      if (this.failure !== undefined) throw this.failure;
    } catch (error) {
      this.inflater.destroy();
      if ((error as { name?: string }).name === 'AbortError') throw error;
      throw inflateError(this.name, error, this.uid);
    }
  }
}
