// IDC's objects kept on disk, so a benchmark's IDC serves stored bytes instead of building each instance on its machine.
import { appendFileSync, createReadStream, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';

const ETAGS = 'etags.tsv';

/**
 * A folder of object bodies (by key) and their ETags. Real IDC serves objects from storage; building an instance and
 * hashing it for its ETag at request time would charge that work to the cores the tool and the raw pipe share, so
 * the benchmark builds every object once, before its measured runs. An object's body is written whole and renamed
 * into place, and its ETag recorded only after that, so a store never names a body it does not hold.
 */
export class ObjectStore {
  private readonly etags = new Map<string, string>();

  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    let text = '';
    try {
      text = readFileSync(join(dir, ETAGS), 'utf8');
    } catch {
      // a new store
    }
    for (const line of text.split('\n')) {
      const [key, etag] = line.split('\t');
      if (key && etag) this.etags.set(key, etag);
    }
  }

  /** The stored object's ETag, or undefined when the object is not stored. */
  etag(key: string): string | undefined {
    return this.etags.get(key);
  }

  /** Bytes start..end (inclusive) of a stored object, in pieces of `size` bytes, or undefined when not stored. */
  read(key: string, start: number, end: number, size: number): Readable | undefined {
    if (!this.etags.has(key)) return undefined;
    return createReadStream(this.file(key), { start, end, highWaterMark: size });
  }

  /** Stores an object's bytes and ETag (once: a stored key is left as it is). */
  keep(key: string, bytes: Buffer, etag: string): void {
    if (this.etags.has(key)) return;
    const file = this.file(key);
    mkdirSync(dirname(file), { recursive: true });
    const partial = `${file}.${process.pid}.partial`;
    writeFileSync(partial, bytes);
    renameSync(partial, file);
    appendFileSync(join(this.dir, ETAGS), `${key}\t${etag}\n`);
    this.etags.set(key, etag);
  }

  /** How many objects the store holds, and their bytes. */
  holdings(): { objects: number; bytes: number } {
    let bytes = 0;
    for (const key of this.etags.keys()) bytes += statSync(this.file(key)).size;
    return { objects: this.etags.size, bytes };
  }

  private file(key: string): string {
    return join(this.dir, 'objects', key);
  }
}
