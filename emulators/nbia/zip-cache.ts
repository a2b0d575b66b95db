// getImage bodies kept on disk, so a benchmark's TCIA serves stored zips instead of building each one on its machine.
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { DescriptorShape } from './zip-writer.js';

/** Which zip one request asks for; requests with faults are never cached. */
export interface ZipKey {
  seriesUid: string;
  deflateLevel: number;
  descriptors: DescriptorShape;
  license: boolean;
  newFileNames: boolean;
  md5: boolean;
}

function fileOf(dir: string, key: ZipKey): string {
  const flags = [key.license ? 'L' : '', key.newFileNames ? 'N' : '', key.md5 ? 'M' : '', key.descriptors === 'unsigned' ? 'U' : ''].join('');
  return join(dir, `${key.seriesUid}-z${key.deflateLevel}${flags ? `-${flags}` : ''}.zip`);
}

/**
 * The stored body for `key`, read in pieces of `size` bytes, or undefined when it is not stored yet. The real
 * getImage builds its zip on TCIA's servers; on a shared bench machine that work would be charged to the tool's
 * cores, so the benchmark pays it once, before the measured runs.
 */
export async function storedZip(dir: string, key: ZipKey, size: number): Promise<Readable | undefined> {
  const file = fileOf(dir, key);
  const found = await stat(file).catch(() => undefined);
  return found?.isFile() ? createReadStream(file, { highWaterMark: size }) : undefined;
}

/** Passes `body` through while writing it to the store; the file appears only once the whole body was written. */
export async function* storing(dir: string, key: ZipKey, body: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const file = fileOf(dir, key);
  const partial = `${file}.${process.pid}.partial`;
  const out = createWriteStream(partial);
  let complete = false;
  try {
    for await (const chunk of body) {
      out.write(chunk);
      yield chunk;
    }
    complete = true;
  } finally {
    out.end();
    await finished(out).catch(() => undefined);
    if (complete) await rename(partial, file);
    else await rm(partial, { force: true });
  }
}
