import { Readable } from 'node:stream';
import { forEachLimit } from '../../concurrency.js';
import { describeError, SeriesContentError } from '../../errors.js';
import { withRetries, type RetryPolicy } from '../../retry.js';
import { streamChunks } from '../stream-chunks.js';
import type { CheckList, FileCheck, SeriesSource, SourceFile, SourceSeries } from '../types.js';
import type { IdcSeriesLocation } from './index-reader.js';
import type { IdcLimiter } from './limiter.js';
import { md5FromEtag, type S3ObjectRef } from './object-stream.js';
import type { IdcS3Client } from './s3-client.js';

/**
 * Objects up to this size are fetched whole before they are handed on, so a corrupt one is fetched again on its
 * own; larger ones are streamed as they arrive (a bad byte then fails the series attempt) and never fetched ahead.
 */
export const WHOLE_OBJECT_LIMIT = 8 * 1024 * 1024;

/** TCIA MD5 lookups of one series in flight at once (one small GET each). */
const TCIA_LOOKUPS = 8;

export interface IdcSourceOptions {
  /** The run's index lookup (done once at planning): SeriesInstanceUID → bucket and series UUID. */
  lookup: ReadonlyMap<string, IdcSeriesLocation>;
  s3: IdcS3Client;
  /** Shared by every series of the run (--idc-connections). */
  limiter: IdcLimiter;
  /** Per object: a corrupt or failed object is fetched again on its own, not the whole series. */
  retry: RetryPolicy;
  /**
   * TCIA's published MD5 of one instance (NBIA getMD5HashForImage), for objects whose ETag is not an MD5;
   * undefined when TCIA gives none.
   */
  publishedMd5: (sopInstanceUid: string) => Promise<string | undefined>;
}

/** IDC's buckets as a source: one object per instance, listed, fetched several at a time, checked by MD5. */
export class IdcSource implements SeriesSource {
  readonly name = 'idc' as const;

  constructor(private readonly options: IdcSourceOptions) {}

  /** Whether the index holds the series. */
  has(seriesUid: string): boolean {
    return this.options.lookup.has(seriesUid);
  }

  /** Undefined when the index lacks the series or its listing is empty (the index is stale for it). */
  async open(seriesUid: string, signal: AbortSignal): Promise<SourceSeries | undefined> {
    const where = this.options.lookup.get(seriesUid);
    if (!where) return undefined;
    const objects = await this.options.s3.listSeries(where.bucket, where.seriesUuid, signal);
    return objects.length === 0 ? undefined : idcSeries(seriesUid, objects, this.options);
  }
}

/** The file name an object goes by in the check list and the outgoing zip: `<instance uuid>.dcm`. */
export function objectName(ref: S3ObjectRef): string {
  return ref.key.slice(ref.key.lastIndexOf('/') + 1);
}

/**
 * What each object is checked against (docs/reference/idc.md#etag): IDC's MD5 where its ETag is one; otherwise
 * (an object uploaded in parts) the MD5 TCIA publishes for the instance the object's header names. An object for
 * which neither exists cannot be verified, and fails the series.
 */
export async function idcCheckList(
  objects: readonly S3ObjectRef[],
  instances: ReadonlyMap<string, string>,
  publishedMd5: (sopInstanceUid: string) => Promise<string | undefined>,
  seriesUid: string,
): Promise<CheckList> {
  const md5s = objects.map((ref) => md5FromEtag(ref.etag));
  // The ETags that are not MD5s are looked up several at a time: a series of large objects can hold hundreds.
  const pending = md5s.flatMap((md5, i) => (md5 === undefined ? [i] : []));
  await forEachLimit(pending, TCIA_LOOKUPS, async (i) => {
    const name = objectName(objects[i]!);
    md5s[i] = await tciaMd5(name, instances.get(name), publishedMd5, seriesUid);
  });
  const checks = new Map<string, FileCheck>(objects.map((ref, i) => [objectName(ref), { kind: 'md5', md5: md5s[i]! }]));
  return { checks, listName: 'the IDC listing', holder: 'the IDC series' };
}

async function tciaMd5(name: string, sop: string | undefined, publishedMd5: (sop: string) => Promise<string | undefined>, seriesUid: string): Promise<string> {
  const why = `${name}: IDC's ETag for it is not an MD5 (the object was uploaded in parts)`;
  if (!sop) throw new SeriesContentError(`${why}, and its header names no SOPInstanceUID to ask TCIA's MD5 for, so it cannot be verified`, seriesUid);
  let md5: string | undefined;
  try {
    md5 = await publishedMd5(sop);
  } catch (error) {
    throw new SeriesContentError(`${why}, and TCIA's MD5 of instance ${sop} could not be fetched: ${describeError(error)}`, seriesUid, { retryable: true, cause: error });
  }
  if (!md5) throw new SeriesContentError(`${why}, and TCIA publishes no MD5 for instance ${sop}, so it cannot be verified`, seriesUid);
  return md5;
}

/** An object's chunks as they arrived: joining them would copy every byte once more. */
async function chunksOf(stream: Readable): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of streamChunks(stream)) chunks.push(chunk);
  return chunks;
}

interface Ahead {
  bytes: Promise<Buffer[]>;
  releaseBytes: () => void;
}

function idcSeries(seriesUid: string, objects: S3ObjectRef[], options: IdcSourceOptions): SourceSeries {
  const { s3, limiter, retry } = options;
  const stop = new AbortController();
  const ahead = new Map<number, Ahead>();
  const whole = (ref: S3ObjectRef, signal: AbortSignal): Promise<Buffer[]> => withRetries(retry, signal, () => chunksOf(s3.openObject(ref, signal)));
  const dropAhead = (): void => {
    for (const entry of ahead.values()) entry.releaseBytes();
    ahead.clear();
  };

  async function* files(outer: AbortSignal): AsyncGenerator<SourceFile> {
    const signal = AbortSignal.any([outer, stop.signal]);
    let head = 0;
    let next = 1;
    // Fetches the objects after the head while the run's connections and memory budget have room, in listing order.
    const topUp = (): void => {
      next = Math.max(next, head + 1);
      while (!signal.aborted && next < objects.length && next - head <= limiter.connections) {
        const ref = objects[next]!;
        if (ref.size > WHOLE_OBJECT_LIMIT) break;
        const grant = limiter.tryAhead(ref.size);
        if (!grant) break;
        const bytes = whole(ref, signal).finally(grant.releaseConnection);
        bytes.catch(() => undefined);
        ahead.set(next, { bytes, releaseBytes: grant.releaseBytes });
        next += 1;
      }
    };
    const stopListening = limiter.onRoom(topUp);
    try {
      for (; head < objects.length; head++) {
        topUp();
        const ref = objects[head]!;
        const name = objectName(ref);
        // s3.openObject (resumableObject) ends a body only once its bytes match this MD5, whole or streamed.
        const md5 = md5FromEtag(ref.etag);
        const checked = md5 ? { md5 } : {};
        const fetched = ahead.get(head);
        if (fetched) {
          ahead.delete(head);
          try {
            yield { name, body: Readable.from(await fetched.bytes), ...checked };
          } finally {
            fetched.releaseBytes();
          }
          continue;
        }
        const release = await limiter.connection(signal);
        if (ref.size <= WHOLE_OBJECT_LIMIT) {
          let bytes: Buffer[];
          try {
            bytes = await whole(ref, signal);
          } finally {
            release();
          }
          yield { name, body: Readable.from(bytes), ...checked };
        } else {
          const body = s3.openObject(ref, signal);
          body.once('close', release);
          yield { name, body, ...checked };
        }
      }
    } finally {
      stopListening();
      dropAhead();
    }
  }

  return {
    source: 'idc',
    seriesUid,
    verified: 'md5',
    files,
    checkList: (instances) => idcCheckList(objects, instances, options.publishedMd5, seriesUid),
    close: () => {
      stop.abort();
      dropAhead();
    },
  };
}
