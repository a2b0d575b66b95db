/**
 * Download chunks whose memory is given back as soon as the outgoing zip has copied them, instead of waiting for the
 * garbage collector: V8 on Node 24 and 26 counts dropped buffers as external memory pressure and runs full
 * collections for it. IDC's uncompressed objects bring many such chunks, and on the image's Node an IDC import peaked
 * 25-40 MB higher without this; for NBIA's fewer, compressed chunks it cost more CPU than it saved memory, so only
 * IDC claims its chunks (docs/benchmarks.md; facts in docs/reference/node-runtime.md#releasing-buffers).
 *
 * Giving memory back empties every view of it, so only memory no one else can be reading qualifies: a chunk a
 * download handed over in memory of its own (each HTTP body piece is), claimed where it is read, and given back only
 * through a view that covers all of it. A view of part of a chunk (the zip reader splits chunks between entries)
 * leaves the chunk alone, and the pool small Buffers share is never claimed, since no one view covers it whole.
 */

/** ArrayBuffer.prototype.transfer (ES2024; Node 22 and later, so the image's Node too), absent on Node 20. */
type Transferable = ArrayBufferLike & { transfer?: (length: number) => ArrayBuffer };

/** Frees `memory` now where the runtime can; on Node 20 it is left to the collector. Every view of it reads as empty. */
export function freeNow(memory: ArrayBufferLike): void {
  try {
    (memory as Transferable).transfer?.(0);
  } catch {
    // Memory the runtime keeps for itself (Node 26 so marks the pool small Buffers share) is left to the collector.
  }
}

const claimed = new WeakSet<ArrayBufferLike>();

function whole(chunk: Buffer): boolean {
  return chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength && chunk.byteLength > 0;
}

/** Marks a chunk just read from a download as memory only the tool holds; returns it. */
export function claimDownloaded(chunk: Buffer): Buffer {
  if (whole(chunk)) claimed.add(chunk.buffer);
  return chunk;
}

/** Gives a claimed chunk's memory back, once nothing needs its bytes any more; anything else is left alone. */
export function giveBackDownloaded(chunk: Buffer): void {
  if (!whole(chunk) || !claimed.has(chunk.buffer)) return;
  claimed.delete(chunk.buffer);
  freeNow(chunk.buffer);
}
