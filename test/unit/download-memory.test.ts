import { Readable } from 'node:stream';
import { streamChunks } from '../../src/sources/stream-chunks.js';
import { claimDownloaded, externalMemoryRelief, giveBackDownloaded } from '../../src/transfer/download-memory.js';

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

describe('external memory relief', () => {
  it('looks at external memory once per `every` downloaded bytes and collects only while it is over the limit', () => {
    let external = 10;
    const looks: number[] = [];
    let collections = 0;
    const note = externalMemoryRelief({
      limit: 50,
      every: 1000,
      external: () => {
        looks.push(external);
        return external;
      },
      collect: () => {
        collections += 1;
        external = 5;
      },
    });
    note(600);
    expect(looks).toEqual([]);
    note(600); // 1,200 bytes: a look, under the limit
    expect([looks.length, collections]).toEqual([1, 0]);
    external = 80;
    note(999); // the count started again after the look: not yet
    expect([looks.length, collections]).toEqual([1, 0]);
    note(1);
    expect([looks, collections]).toEqual([[10, 80], 1]);
    note(1000); // collected down to 5: no second collection
    expect([looks, collections]).toEqual([[10, 80, 5], 1]);
  });

  it("hears every chunk of a download read through streamChunks, as NBIA's zip reader reads it", async () => {
    const sizes: number[] = [];
    const pieces = [chunk(3, 1), chunk(70_000, 2), chunk(1, 3)];
    const read: Buffer[] = [];
    for await (const piece of streamChunks(Readable.from(pieces), (bytes) => sizes.push(bytes))) read.push(piece);
    expect(sizes).toEqual([3, 70_000, 1]);
    expect(Buffer.concat(read).equals(Buffer.concat(pieces))).toBe(true);
  });
});
