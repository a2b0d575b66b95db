// A held entry inflated in one call from the chunks it arrived in (joined in a buffer the process reuses).
import { randomBytes } from 'node:crypto';
import { crc32, deflateRawSync } from 'node:zlib';
import { SeriesContentError } from '../../src/errors.js';
import { inflateWhole, releaseInflated } from '../../src/transfer/side-copy.js';

const UID = '1.2.3';

/** Bytes that deflate about 2:1, like CT pixels. */
function content(size: number): Buffer {
  const bytes = randomBytes(size);
  for (let i = 0; i < size; i += 2) bytes[i] = 0;
  return bytes;
}

function cut(bytes: Buffer, pieces: number): Buffer[] {
  const parts: Buffer[] = [];
  const step = Math.ceil(bytes.length / pieces);
  for (let at = 0; at < bytes.length; at += step) parts.push(Buffer.from(bytes.subarray(at, at + step)));
  return parts;
}

function sums(data: Buffer): { crc: number; size: number } {
  return { crc: crc32(data), size: data.length };
}

describe('inflateWhole', () => {
  it('inflates entries of any size from any number of chunks, each one its own bytes', () => {
    const large = content(1_500_000);
    const small = content(3_000);
    const middle = content(400_000);
    const results = [large, small, middle, small].map((data, i) => ({ data, out: inflateWhole(`f${i}`, cut(deflateRawSync(data), 1 + 7 * i), sums(data), UID) }));
    for (const { data, out } of results) expect(out.equals(data)).toBe(true);
  });

  it('refuses bytes after the DEFLATE stream, even where a larger entry left bytes in the reused buffer before', () => {
    const data = content(200_000);
    const big = content(900_000);
    expect(inflateWhole('big', cut(deflateRawSync(big), 9), sums(big), UID).equals(big)).toBe(true);
    const withTrailer = [...cut(deflateRawSync(data), 5), Buffer.from('PK\x07\x08')];
    expect(() => inflateWhole('trailer', withTrailer, sums(data), UID)).toThrow(/data after the end of its DEFLATE stream/);
  });

  it('calls a cut-off or damaged stream damage in transit, to be fetched again', () => {
    const data = content(300_000);
    const parts = cut(deflateRawSync(data), 6);
    const error = catchError(() => inflateWhole('cut', parts.slice(0, 4), sums(data), UID));
    expect(error).toBeInstanceOf(SeriesContentError);
    expect((error as SeriesContentError).message).toMatch(/^cut: its compressed bytes do not inflate/);
    expect((error as SeriesContentError).retryable).toBe(true);
  });

  it('never inflates past the declared size', () => {
    const data = content(300_000);
    expect(() => inflateWhole('liar', cut(deflateRawSync(data), 3), { crc: 0, size: 1000 }, UID)).toThrow(SeriesContentError);
  });
});

describe('releaseInflated', () => {
  // ArrayBuffer.prototype.transfer: Node 22 and later (the image's Node); Node 20 leaves the memory to the GC.
  const canGiveBack = typeof (ArrayBuffer.prototype as { transfer?: unknown }).transfer === 'function';

  it('gives the memory of an inflated file back where the runtime can, and leaves it readable where it cannot', () => {
    const data = content(300_000);
    const out = inflateWhole('f', cut(deflateRawSync(data), 3), sums(data), UID);
    const memory = out.buffer.byteLength;
    expect(memory).toBeGreaterThanOrEqual(data.length);
    releaseInflated(out);
    if (canGiveBack) {
      expect(out.buffer.byteLength).toBe(0);
      expect(out.length).toBe(0);
    } else {
      expect(out.buffer.byteLength).toBe(memory);
      expect(out.equals(data)).toBe(true);
    }
  });

  it('never touches the pool small Buffers share', () => {
    const first = Buffer.from('first');
    const second = Buffer.from('second');
    expect(first.buffer).toBe(second.buffer);
    releaseInflated(first);
    expect([first.toString(), second.toString()]).toEqual(['first', 'second']);
  });
});

function catchError(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
}
