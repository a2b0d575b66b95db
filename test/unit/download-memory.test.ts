import { claimDownloaded, giveBackDownloaded } from '../../src/transfer/download-memory.js';

// ArrayBuffer.prototype.transfer: Node 22 and later (the image's Node, whose pass of the suite runs in CI); Node 20
// leaves the memory to the collector, so there the bytes must simply stay as they were.
const canGiveBack = typeof (ArrayBuffer.prototype as { transfer?: unknown }).transfer === 'function';

function chunk(size: number, fill: number): Buffer {
  return Buffer.alloc(size, fill);
}

describe('download memory', () => {
  it('gives a claimed chunk back where the runtime can, and leaves it readable where it cannot', () => {
    const piece = claimDownloaded(chunk(30_000, 7));
    giveBackDownloaded(piece);
    if (canGiveBack) expect([piece.length, piece.buffer.byteLength]).toEqual([0, 0]);
    else expect(piece.equals(chunk(30_000, 7))).toBe(true);
  });

  it('leaves a chunk alone when given only part of it, or when it was never claimed', () => {
    const piece = claimDownloaded(chunk(30_000, 1));
    giveBackDownloaded(piece.subarray(0, 20_000));
    giveBackDownloaded(piece.subarray(10_000));
    const stranger = chunk(30_000, 2);
    giveBackDownloaded(stranger);
    expect(piece.equals(chunk(30_000, 1))).toBe(true);
    expect(stranger.equals(chunk(30_000, 2))).toBe(true);
  });

  it('never claims part of a larger memory, such as the pool small Buffers share', () => {
    const first = Buffer.from('first');
    const second = Buffer.from('second');
    expect(first.buffer).toBe(second.buffer);
    claimDownloaded(first);
    giveBackDownloaded(first);
    const wide = chunk(10_000, 3);
    const part = claimDownloaded(wide.subarray(0, 10_000 - 1));
    giveBackDownloaded(part);
    expect([first.toString(), second.toString()]).toEqual(['first', 'second']);
    expect(wide.equals(chunk(10_000, 3))).toBe(true);
  });
});
