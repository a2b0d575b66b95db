import { createHash, type Hash } from 'node:crypto';
import { once } from 'node:events';
import { PassThrough, type Readable } from 'node:stream';
import { isRetryable, retryAfterOf, pause, retryDelay, type RetryPolicy } from '../../retry.js';
import { claimDownloaded } from '../../transfer/download-memory.js';
import { IdcVerifyError } from './errors.js';

/** One object as its listing describes it: what its bytes are checked against. */
export interface S3ObjectRef {
  bucket: string;
  key: string;
  size: number;
  /** As listed, quoted. */
  etag: string;
}

/** How an object is verified: MD5 when its ETag is one, else its length only (docs/reference/idc.md#etag). */
export type ObjectCheck = 'md5' | 'size';

const PLAIN_MD5_ETAG = /^"?([0-9a-f]{32})"?$/i;

/** The MD5 an ETag stands for, or undefined for a multipart (`-N`) or otherwise opaque ETag. */
export function md5FromEtag(etag: string): string | undefined {
  return PLAIN_MD5_ETAG.exec(etag.trim())?.[1]?.toLowerCase();
}

export function objectCheck(ref: S3ObjectRef): ObjectCheck {
  return md5FromEtag(ref.etag) ? 'md5' : 'size';
}

/** Opens the body from byte `from` on (a Range request when from > 0, pinned to the listed ETag), with its length. */
export type OpenBody = (from: number, signal: AbortSignal) => Promise<{ body: Readable; length?: number }>;

/**
 * The object's bytes as one stream that survives resets, truncation and stalls: a failed read resumes with a Range
 * request from the last byte received, so nothing is fetched twice and the consumer sees one continuous body. The
 * stream ends only after the bytes match the listing (length, and MD5 when the ETag is one); otherwise it errors
 * with IdcVerifyError instead of ending, so a consumer must not commit an object before 'end'.
 */
export function resumableObject(ref: S3ObjectRef, open: OpenBody, policy: RetryPolicy, signal?: AbortSignal): Readable {
  const out = new PassThrough({ highWaterMark: 256 * 1024 });
  const controller = new AbortController();
  let settled = false;
  // Once the object is read (or has failed) nothing is left to stop, and aborting costs a DOMException and got's
  // listeners for each of thousands of objects.
  const abort = (): void => {
    if (!settled) controller.abort();
  };
  signal?.addEventListener('abort', abort, { once: true });
  out.once('close', abort);
  const expectedMd5 = md5FromEtag(ref.etag);
  const hash: Hash | undefined = expectedMd5 ? createHash('md5') : undefined;
  let received = 0;

  async function copy(): Promise<void> {
    const from = received;
    const { body, length } = await open(from, controller.signal);
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        received += chunk.length;
        if (received > ref.size) throw new IdcVerifyError(`${ref.key}: more bytes than the ${ref.size} listed`);
        hash?.update(chunk);
        // The chunk is ours alone; the outgoing zip gives its memory back once copied (src/transfer/download-memory.ts).
        if (!out.write(claimDownloaded(chunk))) await once(out, 'drain', { signal: controller.signal });
      }
    } catch (error) {
      if (controller.signal.aborted || error instanceof IdcVerifyError) throw error;
      // Whatever broke the body mid-way (reset, abort, stall), the bytes so far are good: resume after them.
      throw Object.assign(new Error(`${ref.key}: body broke at byte ${received}`, { cause: error }), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
    } finally {
      body.destroy();
    }
    if (received < ref.size && length !== undefined && received - from >= length) {
      throw new IdcVerifyError(`${ref.key}: the object has ${received} bytes, its listing says ${ref.size}`);
    }
    if (received < ref.size) {
      throw Object.assign(new Error(`${ref.key}: body ended at ${received} of ${ref.size} bytes`), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
    }
  }

  async function run(): Promise<void> {
    // Attempts count failures without progress: a large object over a flaky link keeps going while bytes arrive.
    let failures = 0;
    for (;;) {
      const before = received;
      try {
        await copy();
        break;
      } catch (error) {
        if (controller.signal.aborted) throw error;
        if (error instanceof IdcVerifyError) throw error;
        failures = received > before ? 1 : failures + 1;
        const delay = isRetryable(error, 'request') ? retryDelay(failures, policy, retryAfterOf(error)) : 0;
        if (delay === 0) throw error;
        await pause(delay, controller.signal);
      }
    }
    const actual = hash?.digest('hex');
    if (expectedMd5 && actual !== expectedMd5) throw new IdcVerifyError(`${ref.key}: MD5 ${actual} does not match its ETag ${expectedMd5}`);
  }

  run().then(
    () => {
      settled = true;
      out.end();
    },
    (error: unknown) => {
      settled = true;
      out.destroy(error instanceof Error ? error : new Error(String(error)));
    },
  ).finally(() => signal?.removeEventListener('abort', abort));
  return out;
}
