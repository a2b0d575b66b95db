import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { PassThrough, Readable } from 'node:stream';
import { resumableObject, type OpenBody, type S3ObjectRef } from '../../src/sources/idc/object-stream.js';

const BYTES = Buffer.from('DICM'.repeat(4096));
const REF: S3ObjectRef = { bucket: 'b', key: 'series/1.dcm', size: BYTES.length, etag: `"${createHash('md5').update(BYTES).digest('hex')}"` };
const POLICY = { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 };

/** An opener that serves BYTES and keeps the signal of every body it opened. */
function opener(hold = false): { open: OpenBody; signals: AbortSignal[] } {
  const signals: AbortSignal[] = [];
  const open: OpenBody = async (from, signal) => {
    signals.push(signal);
    if (!hold) return { body: Readable.from([BYTES.subarray(from)]), length: BYTES.length - from };
    // A body whose first half arrives and whose rest never does, until the request is aborted.
    const body = new PassThrough();
    body.write(BYTES.subarray(from, BYTES.length / 2));
    signal.addEventListener('abort', () => body.destroy(new Error('aborted')), { once: true });
    return { body, length: BYTES.length - from };
  };
  return { open, signals };
}

describe('resumableObject', () => {
  test('a consumer that gives up mid-object aborts the request still reading it', async () => {
    const { open, signals } = opener(true);
    const out = resumableObject(REF, open, POLICY);
    const [first] = (await once(out, 'data')) as [Buffer];
    expect(first.length).toBe(BYTES.length / 2);
    out.destroy();
    await once(out, 'close');
    expect(signals).toHaveLength(1);
    expect(signals[0]!.aborted).toBe(true);
  });

  test('an object read to the end is not aborted afterwards: nothing is left to stop', async () => {
    const { open, signals } = opener();
    const out = resumableObject(REF, open, POLICY);
    const chunks: Buffer[] = [];
    for await (const chunk of out) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(BYTES)).toBe(true);
    expect(out.destroyed).toBe(true);
    expect(signals).toHaveLength(1);
    expect(signals[0]!.aborted).toBe(false);
  });

  test('the run being stopped aborts the request', async () => {
    const { open, signals } = opener(true);
    const stop = new AbortController();
    const out = resumableObject(REF, open, POLICY, stop.signal);
    const failed = new Promise<Error>((resolve) => out.once('error', resolve));
    await once(out, 'data');
    stop.abort();
    await expect(failed).resolves.toThrow('aborted');
    expect(signals[0]!.aborted).toBe(true);
  });
});
