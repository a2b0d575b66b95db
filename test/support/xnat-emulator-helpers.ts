/** Helpers for the emulator's own tests: HTTP clients, DICOM series and upload zips. */
import { Readable } from 'node:stream';
import archiver from 'archiver';
import got, { type Got } from 'got';
import { type SeriesSpec, makeInstance, seriesSpecFromUid, sopInstanceUid } from '../../emulators/dicom/synthetic-series.js';
import type { XnatEmulator } from '../../emulators/xnat/index.js';

export interface NamedFile {
  name: string;
  data: Buffer;
}

/** A got client that never throws on status, never retries and never follows redirects. */
/** The users most emulator tests start with: an admin and a plain user who owns the test projects. */
export const TEST_USERS = [
  { username: 'admin', password: 'admin', admin: true },
  { username: 'alice', password: 'pw' },
];

export function client(emu: XnatEmulator, username = 'admin', password = 'admin', userAgent = 'xtd-test/1.0'): Got {
  return got.extend({
    prefixUrl: emu.url,
    username,
    password,
    throwHttpErrors: false,
    retry: { limit: 0 },
    followRedirect: false,
    headers: { 'user-agent': userAgent },
  });
}

/** A client that logs in once and then sends only the JSESSIONID cookie, as the product should. */
export async function cookieClient(emu: XnatEmulator, username = 'admin', password = 'admin'): Promise<Got> {
  const login = await client(emu, username, password).get('data/JSESSION');
  if (login.statusCode !== 200) throw new Error(`login failed: ${login.statusCode}`);
  return got.extend({
    prefixUrl: emu.url,
    throwHttpErrors: false,
    retry: { limit: 0 },
    followRedirect: false,
    headers: { cookie: `JSESSIONID=${login.body}`, 'user-agent': 'xtd-test/1.0' },
  });
}

/** A spec for a series; `over` replaces fields (study UID, series number, patient...). */
export function spec(uid: string, over: Partial<SeriesSpec> = {}): SeriesSpec {
  return { ...seriesSpecFromUid(uid, { imagesPerSeries: [3, 3], rows: 8, columns: 8 }), ...over };
}

/** All instances of a series as files named `<n>.dcm`. */
export function seriesFiles(s: SeriesSpec, prefix = ''): NamedFile[] {
  return Array.from({ length: s.imageCount }, (_, i) => ({ name: `${prefix}${i + 1}.dcm`, data: makeInstance(s, i) }));
}

export { sopInstanceUid };

/**
 * A zip of the files. Buffer sources give local headers with sizes; `streamed` passes each file as a
 * stream, which makes archiver write data descriptors (flag bit 3).
 */
export async function zipOf(files: NamedFile[], opts: { store?: boolean; streamed?: boolean } = {}): Promise<Buffer> {
  const zip = archiver('zip', { store: opts.store ?? false });
  const chunks: Buffer[] = [];
  zip.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<void>((resolve, reject) => {
    zip.on('end', () => resolve());
    zip.on('error', reject);
  });
  for (const f of files) zip.append(opts.streamed ? Readable.from([f.data]) : f.data, { name: f.name });
  await zip.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** Local-header flags and method of each entry, to check what archiver produced. */
export function localHeaders(zip: Buffer): { name: string; flags: number; method: number }[] {
  const out: { name: string; flags: number; method: number }[] = [];
  let p = 0;
  while (p + 30 <= zip.length && zip.readUInt32LE(p) === 0x04034b50) {
    const flags = zip.readUInt16LE(p + 6);
    const method = zip.readUInt16LE(p + 8);
    const csize = zip.readUInt32LE(p + 18);
    const nameLen = zip.readUInt16LE(p + 26);
    const extraLen = zip.readUInt16LE(p + 28);
    out.push({ name: zip.subarray(p + 30, p + 30 + nameLen).toString(), flags, method });
    if (flags & 8) break; // sizes unknown from the header; enough for the checks here
    p += 30 + nameLen + extraLen + csize;
  }
  return out;
}

/** Polls until `check` returns true, or fails after `ms`. */
export async function eventually(check: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** `<h3>` message of a Restlet status page. */
export function h3(body: string): string | undefined {
  return /<h3>(.*)<\/h3>/s.exec(body)?.[1];
}

export const ZIP = { 'content-type': 'application/zip' };
