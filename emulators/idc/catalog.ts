// What the emulated IDC holds: which bucket and CRDC UUIDs each synthetic series has, and its objects' facts.
import { createHash } from 'node:crypto';
import { instanceSize, makeInstance, sopInstanceUid, type SeriesSpec } from '../dicom/synthetic-series.js';
import type { ObjectStore } from './object-store.js';

/** IDC's public AWS buckets (docs/reference/idc.md#buckets). */
export const IDC_BUCKETS = ['idc-open-data', 'idc-open-data-two', 'idc-open-data-cr'] as const;

/** Where the index lives, as on the real artifact bucket, path-style. */
export const INDEX_BUCKET = 'idc-index-data-artifacts';
export const INDEX_KEY = 'current/release_artifacts/tcia_idc_subset.parquet';

/** AWS CLI's default multipart threshold and part size (8 MiB), so large objects get `"<hex>-N"` ETags. */
export const DEFAULT_PART_SIZE = 8 * 1024 * 1024;

/** One IDC series: the synthetic spec plus where IDC keeps it. */
export interface IdcSeriesEntry {
  spec: SeriesSpec;
  bucket: string;
  /** crdc_series_uuid: the key prefix of every instance. */
  seriesUuid: string;
}

/** One object's listing facts. */
export interface IdcObjectInfo {
  key: string;
  /** Instance index in the synthetic series (0-based). */
  index: number;
  size: number;
  /** Quoted, as S3 sends it. */
  etag: string;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** A deterministic RFC 4122 version-4-shaped UUID from a seed (IDC's CRDC UUIDs are v4). */
export function uuidFromSeed(seed: string): string {
  const b = digest(seed).subarray(0, 16);
  b[6] = ((b[6] as number) & 0x0f) | 0x40;
  b[8] = ((b[8] as number) & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The crdc_series_uuid the emulator gives a SeriesInstanceUID. */
export function seriesUuidFor(seriesUid: string): string {
  return uuidFromSeed(`crdc-series:${seriesUid}`);
}

/** The bucket a series lands in by default: spread over the three so clients must honour the index's bucket. */
export function defaultBucketFor(spec: SeriesSpec): string {
  return IDC_BUCKETS[digest(`bucket:${spec.seriesUid}`).readUInt32LE(0) % IDC_BUCKETS.length] as string;
}

/**
 * S3's ETag: the MD5 of the bytes for a single-part upload; for a multipart upload the MD5 of the concatenated
 * part MD5s, then `-<parts>` (docs/reference/idc.md#etag).
 */
export function s3Etag(bytes: Buffer, partSize = DEFAULT_PART_SIZE): string {
  if (bytes.length <= partSize) return `"${createHash('md5').update(bytes).digest('hex')}"`;
  const outer = createHash('md5');
  let parts = 0;
  for (let o = 0; o < bytes.length; o += partSize, parts++) outer.update(createHash('md5').update(bytes.subarray(o, o + partSize)).digest());
  return `"${outer.digest('hex')}-${parts}"`;
}

/** Series and object lookup with memoised listings (an ETag needs the bytes, so it is computed once). */
export class IdcCatalog {
  private readonly byUid = new Map<string, IdcSeriesEntry>();
  private readonly byUuid = new Map<string, IdcSeriesEntry>();
  private readonly listings = new Map<string, IdcObjectInfo[]>();
  private readonly empty: Set<string>;
  /** Instances (by index) gone from a series' bucket while the index still counts them. */
  private readonly lost: Record<string, number[]>;
  readonly partSize: number;
  private readonly store: ObjectStore | undefined;

  constructor(
    collection: readonly SeriesSpec[],
    options: { bucketFor?: (spec: SeriesSpec) => string; staleUids?: Iterable<string>; lostObjects?: Record<string, number[]>; partSize?: number; store?: ObjectStore } = {},
  ) {
    this.lost = options.lostObjects ?? {};
    this.store = options.store;
    const bucketFor = options.bucketFor ?? defaultBucketFor;
    for (const spec of collection) {
      const entry = { spec, bucket: bucketFor(spec), seriesUuid: seriesUuidFor(spec.seriesUid) };
      this.byUid.set(spec.seriesUid, entry);
      this.byUuid.set(entry.seriesUuid, entry);
    }
    this.empty = new Set(options.staleUids ?? []);
    this.partSize = options.partSize ?? DEFAULT_PART_SIZE;
  }

  /** Every series in the index, in collection order. */
  entries(): IdcSeriesEntry[] {
    return [...this.byUid.values()];
  }

  entry(seriesUid: string): IdcSeriesEntry | undefined {
    return this.byUid.get(seriesUid);
  }

  /** The series whose objects live under `<uuid>/` in `bucket`, unless it is stale (indexed, no objects). */
  seriesAt(bucket: string, uuid: string): IdcSeriesEntry | undefined {
    const entry = this.byUuid.get(uuid);
    return entry && entry.bucket === bucket && !this.empty.has(entry.spec.seriesUid) ? entry : undefined;
  }

  /** The series' objects in S3 listing order (keys ascending by UTF-8 bytes). */
  objects(entry: IdcSeriesEntry): IdcObjectInfo[] {
    let list = this.listings.get(entry.seriesUuid);
    if (!list) {
      const lost = new Set(this.lost[entry.spec.seriesUid] ?? []);
      list = Array.from({ length: entry.spec.imageCount }, (_, index) => index).filter((index) => !lost.has(index)).map((index) => {
        const key = `${entry.seriesUuid}/${uuidFromSeed(`crdc-instance:${sopInstanceUid(entry.spec, index)}`)}.dcm`;
        return { key, index, size: instanceSize(entry.spec, index), etag: this.store?.etag(key) ?? this.etagOf(entry, index, key) };
      });
      list.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      this.listings.set(entry.seriesUuid, list);
    }
    return list;
  }

  /** An instance's ETag from its bytes, which a store (if any) keeps. */
  private etagOf(entry: IdcSeriesEntry, index: number, key: string): string {
    const bytes = makeInstance(entry.spec, index);
    const etag = s3Etag(bytes, this.partSize);
    this.store?.keep(key, bytes, etag);
    return etag;
  }

  /** Resolves `<bucket>/<key>` to a series object, or undefined (NoSuchKey). */
  object(bucket: string, key: string): { entry: IdcSeriesEntry; info: IdcObjectInfo } | undefined {
    const entry = this.seriesAt(bucket, key.split('/')[0] ?? '');
    const info = entry && this.objects(entry).find((o) => o.key === key);
    return entry && info ? { entry, info } : undefined;
  }
}
