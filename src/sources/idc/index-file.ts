import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { asyncBufferFromFile, type AsyncBuffer } from 'hyparquet';
import { DEFAULT_RETRY, withRetries, type RetryPolicy } from '../../retry.js';
import { IdcHttpError } from './errors.js';
import { isUrl } from './index-location.js';
import { translateNetworkError } from '../../network-errors.js';
import { errorOf, idcHttp } from './http.js';

/** The index as hyparquet reads it, plus where it came from. */
export interface IndexFile {
  file: AsyncBuffer;
  /** The ETag of the copy read (quoted), or undefined for a local file; goes into the run's records. */
  etag?: string;
  /** True when a cached copy's ETag still matched (the server answered 304). */
  revalidated: boolean;
  /** Bytes fetched over the network so far (cache hits cost none). */
  bytesFetched(): number;
}

export interface IndexFileOptions {
  /** Cached byte ranges live under `<cacheDir>/idc-index/`; without it nothing is kept between runs. */
  cacheDir?: string;
  retry?: RetryPolicy;
  insecure?: boolean;
  signal?: AbortSignal;
}

interface CacheMeta {
  url: string;
  etag: string;
  size: number;
}

/**
 * Opens the index for reading by byte range. A local path is read in place. A URL is read with Range requests
 * pinned by If-Match to one ETag, so a release published mid-read fails loudly rather than mixing two files; each
 * range is kept under the cache dir, keyed by ETag, and a later run revalidates with If-None-Match
 * (docs/reference/idc.md#index). A slice inside a range already kept is read from disk, so a rerun reads nothing and
 * another manifest only the pages it has not seen.
 */
export async function openIndexFile(source: string, options: IndexFileOptions = {}): Promise<IndexFile> {
  if (!isUrl(source)) return { file: await asyncBufferFromFile(source), revalidated: false, bytesFetched: () => 0 };
  const http = idcHttp({ insecure: options.insecure });
  const policy = options.retry ?? DEFAULT_RETRY;
  const dir = options.cacheDir ? join(options.cacheDir, 'idc-index', createHash('sha256').update(source).digest('hex').slice(0, 16)) : undefined;
  const cached = dir ? await readMeta(dir) : undefined;
  const head = await withRetries(policy, options.signal, async () => {
    const response = await http.head(source, { headers: cached ? { 'if-none-match': cached.etag } : {}, signal: options.signal });
    if (response.statusCode !== 200 && response.statusCode !== 304) throw errorOf(response, 'index');
    return response;
  }).catch((error: unknown) => {
    throw translateNetworkError(error, 'IDC', source);
  });
  const revalidated = head.statusCode === 304 && cached !== undefined;
  const meta: CacheMeta = revalidated ? cached : { url: source, etag: String(head.headers.etag ?? ''), size: Number(head.headers['content-length']) };
  if (!Number.isFinite(meta.size)) throw new IdcHttpError(head.statusCode, '', `the IDC index at ${new URL(source).host} sent no Content-Length`);
  // Without an ETag nothing can be validated later, so nothing is kept.
  const keep = dir && meta.etag ? dir : undefined;
  if (keep && !revalidated) {
    await rm(keep, { recursive: true, force: true });
    await mkdir(join(keep, 'ranges'), { recursive: true });
    await writeFile(join(keep, 'meta.json'), JSON.stringify(meta));
  }
  let fetched = 0;
  // Ranges already on disk for this ETag; a slice inside one of them is read from it (another manifest, other rows).
  const ranges = keep ? await cachedRanges(keep) : [];
  const file: AsyncBuffer = {
    byteLength: meta.size,
    async slice(start: number, end = meta.size): Promise<ArrayBuffer> {
      const hit = ranges.find((r) => r.start <= start && end <= r.end);
      const bytes = hit && keep ? await readPart(join(keep, 'ranges', `${hit.start}-${hit.end}`), start - hit.start, end - start) : undefined;
      if (bytes) return bytes;
      const body = await fetchRange(start, end);
      if (keep) {
        const path = join(keep, 'ranges', `${start}-${end}`);
        await writeFile(`${path}.part`, body);
        await rename(`${path}.part`, path);
        ranges.push({ start, end });
      }
      // A body that owns its whole ArrayBuffer (any large one) is handed over without a copy.
      const whole = body.byteOffset === 0 && body.length === body.buffer.byteLength;
      return (whole ? body.buffer : body.buffer.slice(body.byteOffset, body.byteOffset + body.length)) as ArrayBuffer;
    },
  };

  // If-Match compares strongly, so a weak ETag (`W/"…"`) never matches it: every range would get 412. Such a host
  // is pinned by checking that each answer carries the same ETag instead (docs/reference/idc.md#index).
  const weak = meta.etag.startsWith('W/');
  const changed = (): IdcHttpError => new IdcHttpError(412, 'PreconditionFailed', 'the IDC index changed while it was being read; run again to use the new release', { retryable: false });

  async function fetchRange(start: number, end: number): Promise<Buffer> {
    if (start === end) return Buffer.alloc(0);
    return withRetries(policy, options.signal, async () => {
      const headers: Record<string, string> = { range: `bytes=${start}-${end - 1}` };
      if (meta.etag && !weak) headers['if-match'] = meta.etag;
      const response = await http.get(source, { headers, responseType: 'buffer', signal: options.signal });
      if (response.statusCode === 412) throw changed();
      if (response.statusCode !== 206 && response.statusCode !== 200) throw errorOf(response, 'index');
      const etag = response.headers.etag;
      if (weak && etag !== undefined && etag !== meta.etag) throw changed();
      fetched += response.body.length;
      // A server that ignores Range sends the whole file: keep the part asked for.
      const body = response.statusCode === 200 ? response.body.subarray(start, end) : response.body;
      if (body.length !== end - start) {
        throw Object.assign(new Error(`IDC index range ${start}-${end - 1} came back with ${body.length} bytes`), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
      }
      return body;
    }).catch((error: unknown) => {
      throw translateNetworkError(error, 'IDC', source);
    });
  }

  return { file, etag: meta.etag || undefined, revalidated, bytesFetched: () => fetched };
}

async function readMeta(dir: string): Promise<CacheMeta | undefined> {
  try {
    const meta = JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as CacheMeta;
    return meta.etag && Number.isFinite(meta.size) ? meta : undefined;
  } catch {
    return undefined;
  }
}

async function cachedRanges(dir: string): Promise<{ start: number; end: number }[]> {
  const names = await readdir(join(dir, 'ranges')).catch(() => [] as string[]);
  return names.flatMap((name) => {
    const m = /^(\d+)-(\d+)$/.exec(name);
    return m ? [{ start: Number(m[1]), end: Number(m[2]) }] : [];
  });
}

/** `length` bytes at `offset` of a cached range, or undefined when the file is gone or short (then it is refetched). */
async function readPart(path: string, offset: number, length: number): Promise<ArrayBuffer | undefined> {
  const handle = await open(path, 'r').catch(() => undefined);
  if (!handle) return undefined;
  try {
    const bytes = new Uint8Array(length);
    const { bytesRead } = await handle.read(bytes, 0, length, offset);
    return bytesRead === length ? bytes.buffer : undefined;
  } finally {
    await handle.close();
  }
}
