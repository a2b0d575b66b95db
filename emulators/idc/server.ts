// The IDC emulator: one loopback HTTP server that is both the index's static host and an S3-compatible bucket server.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { makeInstance, type SeriesSpec } from '../dicom/synthetic-series.js';
import { IDC_BUCKETS, INDEX_BUCKET, INDEX_KEY, IdcCatalog, s3Etag, type IdcObjectInfo, type IdcSeriesEntry } from './catalog.js';
import { IdcFaults, type IdcRequestKind } from './faults.js';
import { indexParquetFor, indexRow, type IdcIndexRow } from './index-parquet.js';
import { ObjectStore } from './object-store.js';
import { listObjectsV2, sendS3Error, serveObject, type S3Context, type ServedObject, type XmlEscapes } from './s3-routes.js';

export interface IdcEmulatorOptions {
  /** Loopback port to listen on; 0 (default) picks a free one. */
  port?: number;
  /** The series IDC holds; each is indexed and (unless stale) has one object per instance. */
  collection: SeriesSpec[];
  /** Series in the index whose objects are gone (an empty listing: the index is stale for them). */
  staleUids?: Iterable<string>;
  /** Instances (by index, per SeriesInstanceUID) gone from a series' bucket while its index row still counts them. */
  lostObjects?: Record<string, number[]>;
  /** Series whose index row has a NULL series_aws_url. */
  unlocatedUids?: Iterable<string>;
  /** The index host sends a weak ETag (`W/"…"`), which If-Match never matches. */
  weakIndexEtag?: boolean;
  /** Which of the three IDC buckets a series is in; default a hash of its UID. */
  bucketFor?: (spec: SeriesSpec) => string;
  /** Serve this parquet file as the index instead of one generated from `collection` (e.g. a million-row bench index). */
  indexFile?: string;
  /** Rows per row group of the generated index; default 100. */
  indexRowGroupSize?: number;
  /** Objects larger than this get a multipart ETag `"<hex>-N"`; default 8 MiB. */
  partSize?: number;
  /** Most keys one listing page returns; default 1000 (S3's limit). */
  pageLimit?: number;
  /** How quotes in XML answers are escaped: 'aws' (default, `&quot;`) or 'go' (`&#34;`, as MinIO and SeaweedFS write them). */
  xmlEscapes?: XmlEscapes;
  /** Per-connection bandwidth cap for bodies, modelling the WAN in benchmarks. */
  bytesPerSecond?: number;
  /**
   * A folder of stored objects (object-store.ts): objects found there are served from it, and any other object is
   * built once and kept there. The benchmark fills it before its measured runs.
   */
  objectCacheDir?: string;
}

export interface IdcRequestRecord {
  method: string;
  bucket: string;
  key: string;
  query: Record<string, string>;
  /** True when the bucket came from the Host header (virtual-hosted addressing). */
  virtualHost: boolean;
  range?: string;
  status: number;
  at: number;
}

export interface IdcEmulator {
  /** Server root, for path-style addressing: objects are at `${url}/<bucket>/<key>` (what --idc-endpoint takes). */
  url: string;
  /** The index parquet's URL. */
  indexUrl: string;
  requests: IdcRequestRecord[];
  faults: IdcFaults;
  entry(seriesUid: string): IdcSeriesEntry | undefined;
  /** The series' objects in listing order (empty for a stale or unknown series). */
  objects(seriesUid: string): IdcObjectInfo[];
  /** Exact bytes of instance `index` (the NBIA emulator's bytes for the same spec). */
  instance(seriesUid: string, index: number): Buffer;
  /** The index's current ETag (quoted). */
  indexEtag(): string;
  /** Publishes new index bytes (a new release: the ETag changes). */
  publishIndex(bytes: Buffer): void;
  close(): Promise<void>;
}

/** Bytes read from a stored object at a time. */
const STORED_PIECE = 64 * 1024;

const LAST_MODIFIED = new Date('2025-01-15T12:00:00.000Z');

function bufferObject(key: string, bytes: Buffer, etag: string): ServedObject {
  return {
    key,
    size: bytes.length,
    etag,
    lastModified: LAST_MODIFIED,
    read: async function* (start, end) {
      yield bytes.subarray(start, end + 1);
    },
  };
}

async function fileObject(key: string, path: string): Promise<ServedObject> {
  const info = await stat(path);
  return {
    key,
    size: info.size,
    // A strong validator without hashing a large file: size and mtime, as static file servers do.
    etag: `"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`,
    lastModified: info.mtime,
    read: (start, end) => createReadStream(path, { start, end, highWaterMark: 256 * 1024 }),
  };
}

/** Bucket and key from the Host header (`<bucket>.<host>`) or the path (`/<bucket>/<key>`). */
function address(req: IncomingMessage, url: URL, buckets: ReadonlySet<string>): { bucket: string; key: string; virtualHost: boolean } {
  const hostLabel = (req.headers.host ?? '').split(':')[0]?.split('.')[0] ?? '';
  const path = url.pathname.slice(1);
  if ((req.headers.host ?? '').includes('.') && buckets.has(hostLabel)) return { bucket: hostLabel, key: decodeURIComponent(path), virtualHost: true };
  const slash = path.indexOf('/');
  const bucket = decodeURIComponent(slash < 0 ? path : path.slice(0, slash));
  return { bucket, key: slash < 0 ? '' : decodeURIComponent(path.slice(slash + 1)), virtualHost: false };
}

/** Starts the emulator on an ephemeral loopback port. */
export async function startIdcEmulator(options: IdcEmulatorOptions): Promise<IdcEmulator> {
  const store = options.objectCacheDir === undefined ? undefined : new ObjectStore(options.objectCacheDir);
  const catalog = new IdcCatalog(options.collection, { ...options, store });
  const faults = new IdcFaults();
  const requests: IdcRequestRecord[] = [];
  const buckets = new Set<string>([...IDC_BUCKETS, INDEX_BUCKET, ...catalog.entries().map((e) => e.bucket)]);
  let index: ServedObject = options.indexFile
    ? await fileObject(INDEX_KEY, options.indexFile)
    : await generatedIndex();

  async function generatedIndex(): Promise<ServedObject> {
    const unlocated = new Set(options.unlocatedUids ?? []);
    const rowOf = (entry: IdcSeriesEntry): IdcIndexRow => ({ ...indexRow(entry), ...(unlocated.has(entry.spec.seriesUid) ? { series_aws_url: null } : {}) });
    const bytes = await indexParquetFor(catalog.entries(), { rowGroupSize: options.indexRowGroupSize }, rowOf);
    return indexObject(bytes);
  }

  function indexObject(bytes: Buffer): ServedObject {
    return bufferObject(INDEX_KEY, bytes, `${options.weakIndexEtag ? 'W/' : ''}${s3Etag(bytes)}`);
  }

  function dicomObject(entry: IdcSeriesEntry, info: IdcObjectInfo): ServedObject {
    return {
      key: info.key,
      size: info.size,
      etag: info.etag,
      lastModified: LAST_MODIFIED,
      // One instance in memory at a time; the sink slices it to the socket. A stored one is read in pieces no larger
      // than the capped sink's own writes.
      read: async function* (start, end) {
        const stored = store?.read(info.key, start, end, STORED_PIECE);
        if (stored) yield* stored as AsyncIterable<Buffer>;
        else yield makeInstance(entry.spec, info.index).subarray(start, end + 1);
      },
    };
  }

  async function handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const { bucket, key, virtualHost } = address(req, url, buckets);
    const record: IdcRequestRecord = {
      method: req.method ?? 'GET', bucket, key, query: Object.fromEntries(url.searchParams), virtualHost,
      range: req.headers.range, status: 0, at: Date.now(),
    };
    requests.push(record);
    const ctx: S3Context = {
      req, res, query: url.searchParams, faults, bytesPerSecond: options.bytesPerSecond, pageLimit: options.pageLimit ?? 1000, xmlEscapes: options.xmlEscapes ?? 'aws',
      status: (code) => void (record.status = code),
    };
    const kind: IdcRequestKind = bucket === INDEX_BUCKET ? 'index' : key === '' ? 'list' : 'object';
    const faultKey = kind === 'list' ? (url.searchParams.get('prefix') ?? '') : key;
    if (faults.take('reset', kind, faultKey, req.method)) {
      req.socket.destroy();
      return;
    }
    const error = faults.take('error', kind, faultKey, req.method);
    if (error) {
      const headers: Record<string, string> = error.retryAfter === undefined ? {} : { 'Retry-After': String(error.retryAfter) };
      sendS3Error(ctx, error.status, error.code, error.code === 'SlowDown' ? 'Please reduce your request rate.' : 'We encountered an internal error. Please try again.', {}, headers);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendS3Error(ctx, 405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.');
      return;
    }
    if (!buckets.has(bucket)) {
      sendS3Error(ctx, 404, 'NoSuchBucket', 'The specified bucket does not exist', { BucketName: bucket });
      return;
    }
    if (kind === 'list' || (kind === 'index' && key === '')) {
      if (url.searchParams.get('list-type') !== '2') {
        sendS3Error(ctx, 501, 'NotImplemented', 'Only ListObjectsV2 (list-type=2) is emulated');
        return;
      }
      listObjectsV2(ctx, bucket, kind === 'index' ? [index] : listing(bucket, url.searchParams.get('prefix') ?? ''));
      return;
    }
    const found = kind === 'index' ? (key === INDEX_KEY ? index : undefined) : objectAt(bucket, key);
    if (!found) {
      sendS3Error(ctx, 404, 'NoSuchKey', 'The specified key does not exist.', { Key: key });
      return;
    }
    await serveObject(ctx, found, kind);
  }

  function objectAt(bucket: string, key: string): ServedObject | undefined {
    const hit = catalog.object(bucket, key);
    return hit && dicomObject(hit.entry, hit.info);
  }

  /** Objects whose key could start with `prefix`: only series whose `<uuid>/` overlaps it are looked at. */
  function listing(bucket: string, prefix: string): ServedObject[] {
    const uuid = prefix.includes('/') ? prefix.slice(0, prefix.indexOf('/')) : undefined;
    const entries = uuid !== undefined
      ? [catalog.seriesAt(bucket, uuid)].filter((e): e is IdcSeriesEntry => e !== undefined)
      : catalog.entries().filter((e) => catalog.seriesAt(bucket, e.seriesUuid) && `${e.seriesUuid}/`.startsWith(prefix));
    const all = entries.flatMap((e) => catalog.objects(e).map((info) => dicomObject(e, info)));
    return all.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    handle(req, res, url).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`IDC emulator error: ${String(error)}`);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const root = `http://127.0.0.1:${port}`;
  let closing: Promise<void> | undefined;

  return {
    url: root,
    indexUrl: `${root}/${INDEX_BUCKET}/${INDEX_KEY}`,
    requests,
    faults,
    entry: (uid) => catalog.entry(uid),
    objects: (uid) => {
      const entry = catalog.entry(uid);
      return entry && catalog.seriesAt(entry.bucket, entry.seriesUuid) ? catalog.objects(entry) : [];
    },
    instance: (uid, i) => {
      const entry = catalog.entry(uid);
      if (!entry) throw new Error(`Series ${uid} is not in the IDC emulator`);
      return makeInstance(entry.spec, i);
    },
    indexEtag: () => index.etag,
    publishIndex: (bytes) => {
      index = indexObject(bytes);
    },
    close: () =>
      (closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      })),
  };
}
