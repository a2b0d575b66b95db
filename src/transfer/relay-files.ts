/**
 * One file through the relay, in either shape a source gives it (src/sources/types.ts): hashed and header-checked on
 * the way, then held or streamed into the outgoing zip. A compressed file goes out with its DEFLATE bytes as they
 * came; only a side copy is inflated, to check it against the source's CRC-32 and size, hash it and read its header.
 */
import type { Readable } from 'node:stream';
import type { DeclaredSums, DeflatedBody } from '../sources/types.js';
import type { OutgoingZip } from './outgoing-zip.js';
import { Digester, inflateWhole, joinStart, releaseInflated, StreamInflater } from './side-copy.js';
import type { FileDigest } from './verification.js';

/** The largest files held whole; larger ones are streamed. */
export interface HoldLimits {
  /**
   * Bytes of an uncompressed file (one such buffer, plus the one held, per series in flight). 4 MB rather than 16:
   * with the GC on the main thread (the CLI's shebang) dead buffers wait longer, and an IDC run of 32 MB objects
   * (test/perf/idc-rss.test.ts) peaked at 173-191 MB RSS with 16, 150-152 MB with 8 (177 in one CI run) and
   * 138-141 MB with 4. CT and MR files are far smaller; larger ones stream.
   */
  plain: number;
  /**
   * DEFLATE bytes of a compressed file. Its inflated side copy is in memory too while it is checked, so this is no
   * more than `plain`: a 32 MB CT slice (~13 MB deflated) streams.
   */
  deflated: number;
}

export const HOLD_LIMITS: HoldLimits = { plain: 4 * 1024 * 1024, deflated: 4 * 1024 * 1024 };
/** Enough of a streamed compressed file's start for its DICOM header (the identifying groups come first). */
const HEAD_BYTES = 1024 * 1024;
/**
 * What an uncompressed file's header is first read from: the identifying groups sit in the first few kB of almost
 * every file, so its chunks are joined only this far; a longer header gets everything held.
 */
const PROBE_BYTES = 64 * 1024;

/** What relaying one file needs from the series it belongs to. */
export interface FileRelay {
  uid: string;
  zip: OutgoingZip;
  signal: AbortSignal;
  limits: HoldLimits;
  /**
   * The header check of one file from its first bytes: the name the file goes to XNAT under when it may go on (the
   * upload then runs), undefined when the series is suspect (the file is then still read and hashed, so the verdict
   * can wait for the list). `more` gives a longer start, asked for only when `head` does not hold the whole header.
   */
  admit(name: string, head: Buffer, more?: () => Buffer): string | undefined;
}

/**
 * An uncompressed file: held whole as STORED, in the chunks it came in, up to `limits.plain`; streamed beyond.
 * `sourceMd5` is the MD5 the source matches these bytes against as it serves them (SourceFile.md5); it stands in
 * for a second hash of every byte.
 */
export async function relayPlain(relay: FileRelay, name: string, body: Readable, sourceMd5?: string): Promise<FileDigest> {
  const digest = new Digester(Infinity, sourceMd5);
  const chunks = body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let complete = false;
  while (digest.size <= relay.limits.plain) {
    const next = await chunks.next();
    if (next.done) {
      complete = true;
      break;
    }
    digest.add(next.value);
  }
  const parts = digest.takeParts();
  const head = joinStart(parts, PROBE_BYTES);
  const more = head.length < digest.size ? () => joinStart(parts, Infinity) : undefined;
  const outName = relay.admit(name, head, more);
  if (outName === undefined) {
    for (let next = await chunks.next(); !next.done; next = await chunks.next()) digest.add(next.value);
  } else if (complete) {
    await relay.zip.holdStored(outName, parts, { crc: digest.crc, size: digest.size });
  } else {
    await relay.zip.streamPlain(outName, parts, digest.through(chunks), () => ({ crc: digest.crc, size: digest.size }));
  }
  return digest.done();
}

/** A compressed file: held whole up to `limits.deflated` DEFLATE bytes, streamed through beyond. */
export async function relayDeflated(relay: FileRelay, name: string, file: DeflatedBody): Promise<FileDigest> {
  const chunks = file.chunks[Symbol.asyncIterator]();
  const raw: Buffer[] = [];
  let rawSize = 0;
  for (;;) {
    const next = await chunks.next();
    if (next.done) return wholeEntry(relay, name, raw, file.sums());
    raw.push(next.value);
    rawSize += next.value.length;
    if (rawSize > relay.limits.deflated) return streamEntry(relay, name, raw, chunks, file.sums);
  }
}

/** A whole compressed file, inflated in one call (in pieces when it inflates past `limits.plain`), then held. */
async function wholeEntry(relay: FileRelay, name: string, raw: Buffer[], sums: DeclaredSums): Promise<FileDigest> {
  const { checked, outName } = sums.size <= relay.limits.plain ? checkInflated(relay, name, raw, sums) : await checkInPieces(relay, name, raw, sums);
  if (outName !== undefined) await relay.zip.holdDeflated(outName, raw, sums);
  return checked;
}

interface Checked {
  checked: FileDigest;
  /** The name the file goes on to XNAT under, or undefined when the header check holds it back. */
  outName: string | undefined;
}

/** The side copy inflated in one call and checked; its memory is given back before the file goes on. */
function checkInflated(relay: FileRelay, name: string, raw: Buffer[], sums: DeclaredSums): Checked {
  const inflated = inflateWhole(name, raw, sums, relay.uid);
  try {
    const digest = new Digester();
    digest.add(inflated);
    return { checked: digest.checked(name, sums, relay.uid), outName: relay.admit(name, inflated) };
  } finally {
    releaseInflated(inflated);
  }
}

/** The side copy of a file held compressed but too large to inflate in one buffer, inflated in pieces. */
async function checkInPieces(relay: FileRelay, name: string, raw: Buffer[], sums: DeclaredSums): Promise<Checked> {
  const digest = new Digester(HEAD_BYTES);
  const inflater = new StreamInflater(name, digest, relay.uid, relay.signal);
  try {
    for (const chunk of raw) await inflater.write(chunk);
    await inflater.end();
  } finally {
    inflater.destroy();
  }
  const head = digest.takeHead();
  return { checked: digest.checked(name, sums, relay.uid), outName: relay.admit(name, head) };
}

/**
 * A compressed file too large to hold: its start is inflated and the header checked before any of it goes out, then
 * each DEFLATE chunk is copied to XNAT as the side copy inflates it. The data descriptor waits in the outgoing zip.
 */
async function streamEntry(relay: FileRelay, name: string, raw: Buffer[], rest: AsyncIterator<Buffer>, sums: () => DeclaredSums): Promise<FileDigest> {
  const digest = new Digester(HEAD_BYTES);
  const inflater = new StreamInflater(name, digest, relay.uid, relay.signal);
  try {
    for (const chunk of raw) await inflater.write(chunk);
    await inflater.flush();
    const outName = relay.admit(name, digest.takeHead());
    const out = outName !== undefined ? await relay.zip.streamDeflated(outName) : undefined;
    let reported = 0;
    const send = async (chunk: Buffer): Promise<void> => {
      if (!out) return;
      await out.write(chunk, digest.size - reported);
      reported = digest.size;
    };
    for (const chunk of raw.splice(0)) await send(chunk);
    for (let next = await rest.next(); !next.done; next = await rest.next()) {
      await inflater.write(next.value);
      await send(next.value);
    }
    await inflater.end();
    const checked = digest.checked(name, sums(), relay.uid);
    out?.end(sums());
    return checked;
  } finally {
    inflater.destroy();
  }
}
