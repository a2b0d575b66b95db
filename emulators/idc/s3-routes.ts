// S3 REST answers: ListObjectsV2, GET/HEAD of an object (ETag, Range, conditionals) and S3's XML errors.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { XMLBuilder } from 'fast-xml-parser';
import { BodySink } from '../nbia/body-sink.js';
import type { IdcFaults, IdcRequestKind } from './faults.js';

/** An object as served: its facts and a way to read a byte range of it. */
export interface ServedObject {
  key: string;
  size: number;
  /** Quoted. */
  etag: string;
  lastModified: Date;
  /** Bytes start..end inclusive, in chunks. */
  read(start: number, end: number): AsyncIterable<Buffer>;
}

/** A listing entry. */
export interface ListedObject {
  key: string;
  size: number;
  etag: string;
  lastModified: Date;
}

/** Request context shared by the routes. */
export interface S3Context {
  req: IncomingMessage;
  res: ServerResponse;
  query: URLSearchParams;
  faults: IdcFaults;
  bytesPerSecond?: number;
  /** Largest page the server returns, whatever max-keys asks (S3: 1000). */
  pageLimit: number;
  /** How text is escaped in XML answers (IdcEmulatorOptions.xmlEscapes). */
  xmlEscapes: XmlEscapes;
  /** Records the status for the request log. */
  status(code: number): void;
}

const S3_NS = 'http://s3.amazonaws.com/doc/2006-03-01/';
const xml = new XMLBuilder({ ignoreAttributes: false, suppressEmptyNode: false });

/**
 * 'aws' escapes quotes as `&quot;` and `&apos;`, as S3 does; 'go' as Go's encoding/xml does (MinIO, SeaweedFS),
 * with numeric character references `&#34;` and `&#39;`.
 */
export type XmlEscapes = 'aws' | 'go';

function xmlDocument(ctx: S3Context, body: Record<string, unknown>): string {
  const text = xml.build(body) as string;
  const escaped = ctx.xmlEscapes === 'go' ? text.replaceAll('&quot;', '&#34;').replaceAll('&apos;', '&#39;') : text;
  return `<?xml version="1.0" encoding="UTF-8"?>\n${escaped}`;
}

const REQUEST_ID = '0A49CE4060975EAC';

/** S3's error document: `<Error><Code>…</Code><Message>…</Message>…</Error>` (docs/reference/idc.md#errors). */
export function sendS3Error(ctx: S3Context, status: number, code: string, message: string, extra: Record<string, string> = {}, headers: Record<string, string> = {}): void {
  const body = ctx.req.method === 'HEAD' ? '' : xmlDocument(ctx, { Error: { Code: code, Message: message, ...extra, RequestId: REQUEST_ID } });
  ctx.status(status);
  ctx.res.writeHead(status, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body), 'x-amz-request-id': REQUEST_ID, ...headers });
  ctx.res.end(body);
}

/** ListObjectsV2 over `objects` (already in key order); the continuation token is the last key sent, base64. */
export function listObjectsV2(ctx: S3Context, bucket: string, objects: readonly ListedObject[]): void {
  const prefix = ctx.query.get('prefix') ?? '';
  const rawMax = ctx.query.get('max-keys');
  const maxKeys = rawMax === null ? 1000 : Number(rawMax);
  if (!Number.isInteger(maxKeys) || maxKeys < 0) {
    sendS3Error(ctx, 400, 'InvalidArgument', 'Provided max-keys not an integer or within integer range', { ArgumentName: 'max-keys', ArgumentValue: rawMax ?? '' });
    return;
  }
  const token = ctx.query.get('continuation-token');
  const after = token !== null ? Buffer.from(token, 'base64').toString('utf8') : (ctx.query.get('start-after') ?? '');
  const matching = objects.filter((o) => o.key.startsWith(prefix) && o.key > after);
  const page = matching.slice(0, Math.min(maxKeys, ctx.pageLimit));
  const truncated = page.length < matching.length;
  const result: Record<string, unknown> = {
    '@_xmlns': S3_NS,
    Name: bucket,
    Prefix: prefix,
    KeyCount: page.length,
    MaxKeys: maxKeys,
    IsTruncated: truncated,
    ...(token !== null ? { ContinuationToken: token } : {}),
    ...(truncated ? { NextContinuationToken: Buffer.from(page[page.length - 1]!.key, 'utf8').toString('base64') } : {}),
  };
  if (page.length > 0) {
    result.Contents = page.map((o) => ({
      Key: o.key,
      LastModified: o.lastModified.toISOString(),
      ETag: o.etag,
      Size: o.size,
      StorageClass: 'STANDARD',
    }));
  }
  const body = xmlDocument(ctx, { ListBucketResult: result });
  ctx.status(200);
  ctx.res.writeHead(200, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body) });
  ctx.res.end(ctx.req.method === 'HEAD' ? undefined : body);
}

/** A single `bytes=` range as inclusive offsets, 'bad' when unsatisfiable, undefined when absent or not understood. */
export function parseRange(header: string | undefined, size: number): [number, number] | 'bad' | undefined {
  const m = header && /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    return suffix === 0 ? 'bad' : [Math.max(0, size - suffix), size - 1];
  }
  const start = Number(m[1]);
  if (start >= size) return 'bad';
  return [start, m[2] === '' ? size - 1 : Math.min(size - 1, Number(m[2]))];
}

/**
 * If-Match compares strongly (a weak ETag never matches), If-None-Match weakly (the `W/` is ignored on both sides),
 * as RFC 9110 has them.
 */
function etagMatches(header: string | undefined, etag: string, strong: boolean): boolean {
  if (header === undefined) return false;
  const opaque = (tag: string): string => tag.replace(/^W\//, '');
  return header.split(',').map((t) => t.trim()).some((t) => t === '*' || (strong ? !t.startsWith('W/') && !etag.startsWith('W/') && t === etag : opaque(t) === opaque(etag)));
}

/** GET or HEAD of one object, with conditionals, Range and the body faults. */
export async function serveObject(ctx: S3Context, object: ServedObject, kind: IdcRequestKind): Promise<void> {
  const { req, res, faults } = ctx;
  const common = { ETag: object.etag, 'Last-Modified': object.lastModified.toUTCString(), 'Accept-Ranges': 'bytes' };
  const ifMatch = req.headers['if-match'];
  if (ifMatch !== undefined && !etagMatches(ifMatch, object.etag, true)) {
    sendS3Error(ctx, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: 'If-Match' });
    return;
  }
  if (etagMatches(req.headers['if-none-match'], object.etag, false)) {
    ctx.status(304);
    res.writeHead(304, common);
    res.end();
    return;
  }
  const range = parseRange(req.headers.range, object.size);
  if (range === 'bad') {
    sendS3Error(ctx, 416, 'InvalidRange', 'The requested range is not satisfiable', { RangeRequested: String(req.headers.range), ActualObjectSize: String(object.size) }, { 'Content-Range': `bytes */${object.size}` });
    return;
  }
  const [start, end] = range ?? [0, object.size - 1];
  const status = range ? 206 : 200;
  const headers: Record<string, string | number> = { ...common, 'Content-Type': 'application/octet-stream', 'Content-Length': end - start + 1 };
  if (range) headers['Content-Range'] = `bytes ${start}-${end}/${object.size}`;
  ctx.status(status);
  if (req.method === 'HEAD') {
    res.writeHead(status, headers);
    res.end();
    return;
  }
  const corrupt = faults.take('corruptByte', kind, object.key) !== undefined;
  const sink = new BodySink(res, {
    bytesPerSecond: ctx.bytesPerSecond,
    truncateAfter: faults.take('truncateAfterBytes', kind, object.key)?.bytes,
    stallAfter: faults.take('stallAfterBytes', kind, object.key)?.bytes,
  });
  res.writeHead(status, headers);
  if (!(await sink.begin())) return;
  let offset = start;
  for await (const piece of object.read(start, end)) {
    let chunk = piece;
    const last = object.size - 1;
    if (corrupt && last >= offset && last < offset + chunk.length) {
      chunk = Buffer.from(chunk);
      chunk[last - offset] = (chunk[last - offset] as number) ^ 0xff;
    }
    offset += chunk.length;
    if (!(await sink.write(chunk))) return;
  }
  await sink.end();
}
