/** The NBIA emulator tests' shared start-up and HTTP and zip helpers (test/emulators/nbia*.test.ts). */
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import got from 'got';
import unzip from 'unzip-stream';
import { startNbiaEmulator, type NbiaEmulator, type NbiaEmulatorOptions } from '../../emulators/nbia/index.js';

export const UID = '1.3.6.1.4.1.14519.5.2.1.200342509692530171737702339931600829926';
export const V4 = '/nbia-api/services/v4';
export const V1 = '/nbia-api/services/v1';

export interface ZipFile {
  name: string;
  data: Buffer;
}

/** The emulator of the running test (a live binding: `start` replaces it). */
export let emu: NbiaEmulator;

export async function start(options?: NbiaEmulatorOptions): Promise<NbiaEmulator> {
  await emu?.close();
  emu = await startNbiaEmulator(options);
  return emu;
}

/** A fresh emulator with default options for each test of the calling file. */
export function useNbiaEmulator(): void {
  beforeEach(async () => {
    await start();
  });
  afterEach(async () => {
    await emu.close();
  });
}

interface Reply {
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A GET that neither retries nor throws on HTTP errors, so tests see exactly what the emulator sent. */
export function get(path: string): Promise<Reply> {
  return got(`${emu.url}${path}`, { throwHttpErrors: false, retry: { limit: 0 }, responseType: 'buffer' });
}

export function postMetadata(list: string[]): Promise<Reply> {
  return got.post(`${emu.url}${V4}/getSeriesMetadata`, {
    throwHttpErrors: false,
    retry: { limit: 0 },
    responseType: 'buffer',
    form: { list: list.join(',') },
  });
}

export async function unzipAll(body: Buffer): Promise<ZipFile[]> {
  const files: Promise<ZipFile>[] = [];
  const parser = unzip.Parse();
  parser.on('entry', (entry: unzip.Entry) => {
    files.push(
      (async () => {
        const chunks: Buffer[] = [];
        for await (const chunk of entry as AsyncIterable<Buffer>) chunks.push(chunk);
        return { name: entry.path, data: Buffer.concat(chunks) };
      })(),
    );
  });
  await pipeline(Readable.from([body]), parser);
  return Promise.all(files);
}

/** General-purpose flags of every local and central header, read from the central directory. */
export function zipFlags(body: Buffer): { name: string; local: number; central: number; localSizes: number[] }[] {
  const eocd = body.length - 22;
  expect(body.readUInt32LE(eocd)).toBe(0x06054b50);
  const count = body.readUInt16LE(eocd + 10);
  let p = body.readUInt32LE(eocd + 16);
  const out = [];
  for (let i = 0; i < count; i++) {
    expect(body.readUInt32LE(p)).toBe(0x02014b50);
    const nameLength = body.readUInt16LE(p + 28);
    const offset = body.readUInt32LE(p + 42);
    expect(body.readUInt32LE(offset)).toBe(0x04034b50);
    out.push({
      name: body.subarray(p + 46, p + 46 + nameLength).toString('utf8'),
      central: body.readUInt16LE(p + 8),
      local: body.readUInt16LE(offset + 6),
      localSizes: [body.readUInt32LE(offset + 14), body.readUInt32LE(offset + 18), body.readUInt32LE(offset + 22)],
    });
    p += 46 + nameLength + body.readUInt16LE(p + 30) + body.readUInt16LE(p + 32);
  }
  return out;
}

export const md5 = (data: Buffer): string => createHash('md5').update(data).digest('hex');

export function parseMd5Csv(text: string): Map<string, string> {
  const lines = text.split('\n');
  expect(lines[0]).toBe('Filename,MD5Hash');
  expect(lines.at(-1)).toBe('');
  return new Map(lines.slice(1, -1).map((l) => l.split(',') as [string, string]));
}

/** Which instance index each DICOM entry holds, matched by content. */
export function instanceIndexes(uid: string, files: ZipFile[]): number[] {
  const spec = emu.spec(uid);
  if (!spec) throw new Error('unknown series');
  const byHash = new Map(Array.from({ length: spec.imageCount }, (_, i) => [md5(emu.instance(uid, i)), i]));
  return files.map((f) => byHash.get(md5(f.data)) ?? -1);
}

/** Reads a download as a stream until it ends or fails, counting body bytes. */
export async function streamBytes(path: string, socketTimeout?: number): Promise<{ bytes: number; error?: Error }> {
  let bytes = 0;
  try {
    const stream = got.stream(`${emu.url}${path}`, { retry: { limit: 0 }, timeout: { socket: socketTimeout } });
    for await (const chunk of stream as AsyncIterable<Buffer>) bytes += chunk.length;
    return { bytes };
  } catch (error) {
    return { bytes, error: error as Error };
  }
}
