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
 *
 * NBIA's downloads are also counted, so that dead chunks piling up ask for a collection (`noteDownloaded`).
 */

import { getHeapStatistics } from 'node:v8';

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

/** What externalMemoryRelief watches and does; the tool's own is `noteDownloaded`. */
export interface ExternalMemoryWatch {
  /** External memory (array buffers included) above which a full collection is asked for. */
  limit: number;
  /** Downloaded bytes between two looks at external memory. */
  every: number;
  external(): number;
  collect(): void;
}

/** A counter of downloaded bytes that, every `every` of them, asks for a collection while external memory is over the limit. */
export function externalMemoryRelief(watch: ExternalMemoryWatch): (bytes: number) => void {
  let since = 0;
  return (bytes) => {
    since += bytes;
    if (since < watch.every) return;
    since = 0;
    if (watch.external() > watch.limit) watch.collect();
  };
}

type Collect = (options: { type: 'major' }) => void;
const exposedGc = (globalThis as { gc?: Collect }).gc;
const MiB = 1024 * 1024;

/**
 * Counts NBIA's downloaded bytes. On V8 12 and later (Node 22 on, the image's Node too), dead download chunks and
 * upload blocks wait for a full collection that V8 starts late, and at c=8 a TCIA faster than XNAT's intake took
 * the tool to 189-195 MB; a collection whenever external memory passes 56 MB held the same run at 163 MB, for the
 * same CPU (21 collections; docs/benchmarks.md). A look costs about 2 us per MB. Node 20's peak is not made of
 * such buffers (a collection there did not lower it), so there, and without the shebang's --expose-gc, it does nothing.
 */
export const noteDownloaded: (bytes: number) => void =
  exposedGc && Number(process.versions.v8.split('.')[0]) >= 12
    ? externalMemoryRelief({ limit: 56 * MiB, every: MiB, external: () => getHeapStatistics().external_memory, collect: () => exposedGc({ type: 'major' }) })
    : () => undefined;
