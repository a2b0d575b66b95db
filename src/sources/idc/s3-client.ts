import type { Readable } from 'node:stream';
import type { Got, Response } from 'got';
import { translateNetworkError } from '../../network-errors.js';
import { DEFAULT_RETRY, withRetries, type RetryPolicy } from '../../retry.js';
import { readDicomHeader, type DicomHeader } from '../../transfer/dicom-header.js';
import { readStart } from '../stream-chunks.js';
import { IdcHttpError, s3XmlParser } from './errors.js';
import { errorOf, header, idcHttp } from './http.js';
import { resumableObject, type S3ObjectRef } from './object-stream.js';

export interface IdcS3ClientOptions {
  /**
   * An S3-compatible server root; objects are then addressed path-style as `<endpoint>/<bucket>/<key>`. Without it,
   * AWS with virtual-hosted addressing, which IDC's buckets need (docs/reference/idc.md#buckets).
   */
  endpoint?: string;
  /** Per request (a listing page) and per object; 503 SlowDown, resets, truncation and stalls are retried. */
  retry?: RetryPolicy;
  /** Idle time after which a silent connection counts as stalled. */
  stallTimeoutMs?: number;
  insecure?: boolean;
  /** Told of every whole listing of a series (not the one-key listing of a header read). */
  onListed?: (bucket: string, seriesUuid: string, objects: readonly S3ObjectRef[]) => void;
}

/** The first bytes read for a header; doubled up to HEAD_MAX when the header is longer (docs/reference/idc.md#header). */
const HEAD_FIRST = 64 * 1024;
const HEAD_MAX = 4 * 1024 * 1024;

const listParser = s3XmlParser({ isArray: (name) => name === 'Contents' });

interface ListPage {
  ListBucketResult?: {
    IsTruncated?: string;
    NextContinuationToken?: string;
    Contents?: { Key?: string; Size?: string; ETag?: string }[];
  };
}

function encodeKey(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}

/** Anonymous S3 over plain HTTPS, just what IDC's public buckets need: list a series, fetch objects, read a header. */
export class IdcS3Client {
  private readonly http: Got;
  private readonly policy: RetryPolicy;
  private readonly endpoint?: string;
  private readonly onListed?: IdcS3ClientOptions['onListed'];

  constructor(options: IdcS3ClientOptions = {}) {
    this.endpoint = options.endpoint?.replace(/\/+$/, '');
    this.onListed = options.onListed;
    this.policy = options.retry ?? DEFAULT_RETRY;
    this.http = idcHttp(options);
  }

  /** `<bucket>.s3.amazonaws.com/<key>` by default; `<endpoint>/<bucket>/<key>` when an endpoint is set. */
  url(bucket: string, key = ''): string {
    if (this.endpoint) return `${this.endpoint}/${encodeURIComponent(bucket)}${key ? `/${encodeKey(key)}` : ''}`;
    return `https://${bucket}.s3.amazonaws.com/${encodeKey(key)}`;
  }

  /**
   * Every object under `<seriesUuid>/`, in key order, following ListObjectsV2's continuation tokens; with `first`,
   * only the first object (one page of one key).
   */
  async listSeries(bucket: string, seriesUuid: string, signal?: AbortSignal, first = false): Promise<S3ObjectRef[]> {
    const prefix = `${seriesUuid}/`;
    const objects: S3ObjectRef[] = [];
    let token: string | undefined;
    do {
      const searchParams: Record<string, string> = { 'list-type': '2', prefix };
      if (token !== undefined) searchParams['continuation-token'] = token;
      if (first) searchParams['max-keys'] = '1';
      const page = await withRetries(this.policy, signal, async () => {
        const response = await this.http.get(this.url(bucket), { searchParams, signal }).catch((error: unknown) => this.failed(error, bucket));
        if (response.statusCode !== 200) throw errorOf(response, `listing of ${bucket}/${prefix}`);
        return listParser.parse(response.body) as ListPage;
      });
      const result = page.ListBucketResult;
      if (!result) throw new IdcHttpError(200, '', `IDC listing of ${bucket}/${prefix} is not a ListBucketResult`);
      for (const c of result.Contents ?? []) {
        if (c.Key === undefined) continue;
        objects.push({ bucket, key: c.Key, size: Number(c.Size), etag: c.ETag ?? '' });
      }
      token = result.IsTruncated === 'true' && !first ? result.NextContinuationToken : undefined;
    } while (token);
    if (!first) this.onListed?.(bucket, seriesUuid, objects);
    return objects;
  }

  /**
   * The object's bytes, resumed across failures and verified against `ref` before the stream ends (see
   * resumableObject). A corrupt object errors with IdcVerifyError (retryable): the caller refetches it whole.
   */
  openObject(ref: S3ObjectRef, signal?: AbortSignal): Readable {
    return resumableObject(ref, (from, s) => this.openBody(ref, from, s), this.policy, signal);
  }

  /** The DICOM header of the first object of a series, from a Range GET of its head; undefined when not DICOM. */
  async readSeriesHeader(bucket: string, seriesUuid: string, signal?: AbortSignal): Promise<DicomHeader | undefined> {
    const [first] = await this.listSeries(bucket, seriesUuid, signal, true);
    if (!first) return undefined;
    for (let length = HEAD_FIRST; ; length *= 2) {
      const bytes = await this.readRange(first, 0, Math.min(length, first.size), signal);
      const parsed = readDicomHeader(bytes);
      if (parsed || bytes.length >= first.size || length >= HEAD_MAX) return parsed;
    }
  }

  /** Bytes [start, end) of an object, as one buffer: for small reads such as a header. */
  async readRange(ref: S3ObjectRef, start: number, end: number, signal?: AbortSignal): Promise<Buffer> {
    return withRetries(this.policy, signal, async () => {
      const response = await this.http.get(this.url(ref.bucket, ref.key), {
        headers: { range: `bytes=${start}-${end - 1}`, 'if-match': ref.etag },
        responseType: 'buffer',
        signal,
      }).catch((error: unknown) => this.failed(error, ref.bucket));
      if (response.statusCode === 206 || response.statusCode === 200) {
        // A server that ignores Range sends the whole object: keep the part asked for.
        return response.statusCode === 200 ? response.body.subarray(start, end) : response.body;
      }
      throw errorOf(response, `object ${ref.bucket}/${ref.key}`);
    });
  }

  /** A request that got no answer, as one line naming the server (network-errors.ts), retryable as before. */
  private failed(error: unknown, bucket: string): never {
    throw translateNetworkError(error, 'IDC', this.url(bucket));
  }

  private async openBody(ref: S3ObjectRef, from: number, signal: AbortSignal): Promise<{ body: Readable; length?: number }> {
    // If-Match pins every request of a resumed read to the listed version of the object.
    const headers: Record<string, string> = ref.etag ? { 'if-match': ref.etag } : {};
    if (from > 0) headers.range = `bytes=${from}-`;
    const stream = this.http.stream(this.url(ref.bucket, ref.key), { headers, signal });
    const response = await new Promise<Response>((resolve, reject) => {
      stream.once('response', resolve);
      stream.once('error', reject);
    });
    const ok = from > 0 ? response.statusCode === 206 && header(response, 'content-range')?.startsWith(`bytes ${from}-`) : response.statusCode === 200;
    const length = Number(header(response, 'content-length'));
    if (ok) return { body: stream, length: Number.isFinite(length) ? length : undefined };
    throw errorOf(response, `object ${ref.bucket}/${ref.key}`, await snippet(stream));
  }
}

async function snippet(stream: Readable): Promise<string> {
  try {
    // Only for the message: a body that breaks off gives what came.
    return (await readStart(stream, 4096, { keepOnError: true })).toString('utf8');
  } finally {
    stream.destroy();
  }
}
