import type { Logger } from '../../log.js';
import { formatSize } from '../../units.js';
import type { IdcSeriesLocation } from './index-reader.js';
import type { S3ObjectRef } from './object-stream.js';

/**
 * How far a listing may fall below the index's series_size_MB before it counts as short. The column is the sum of
 * the series' object sizes divided by 10^6 and rounded to two decimals (docs/reference/idc.md#index), so a complete
 * listing is at most 5,000 bytes under it; one whole step of the rounding (0.01 MB) leaves room for that and for
 * float noise, while a lost DICOM instance is almost always larger.
 */
export const SHORTFALL_SLACK_BYTES = 10_000;

/** The bytes a listing lacks against series_size_MB, or 0 when it is not clearly short. */
export function listingShortfall(objects: readonly Pick<S3ObjectRef, 'size'>[], sizeMB: number): number {
  const listed = objects.reduce((sum, o) => sum + o.size, 0);
  const expected = sizeMB * 1e6;
  return Number.isFinite(expected) && listed + SHORTFALL_SLACK_BYTES < expected ? Math.round(expected - listed) : 0;
}

/**
 * Checks each series' IDC listing against the index's size where nothing else says how many files the series has:
 * without NBIA's ImageCount (--source idc, or NBIA down) the relay can only check the files against the listing
 * itself, so an object lost from the bucket would go unnoticed. A short listing is warned about once per series and
 * kept for the report.
 */
export class IdcListingCheck {
  private readonly byUuid = new Map<string, { uid: string; sizeMB: number }>();
  private readonly counted = new Set<string>();
  /** SeriesInstanceUID → the warning, for the report. */
  readonly warnings = new Map<string, string>();

  constructor(series: ReadonlyMap<string, IdcSeriesLocation>, private readonly logger: Logger) {
    for (const [uid, where] of series) this.byUuid.set(`${where.bucket}/${where.seriesUuid}`, { uid, sizeMB: where.sizeMB });
  }

  /** Series whose image count NBIA gave: the relay checks their files against it, and a short listing fails there. */
  countsKnown(uids: Iterable<string>): void {
    for (const uid of uids) this.counted.add(uid);
  }

  /** A whole listing of `<bucket>/<seriesUuid>/`, as IdcS3Client's `onListed` hands it over. */
  listed(bucket: string, seriesUuid: string, objects: readonly S3ObjectRef[]): void {
    const series = this.byUuid.get(`${bucket}/${seriesUuid}`);
    if (!series || objects.length === 0 || this.counted.has(series.uid) || this.warnings.has(series.uid)) return;
    const short = listingShortfall(objects, series.sizeMB);
    if (short === 0) return;
    const listed = objects.reduce((sum, o) => sum + o.size, 0);
    const warning = `IDC lists ${objects.length} objects, ${formatSize(listed)}, ${formatSize(short)} short of the ${series.sizeMB} MB its index gives for this series: objects may be missing from IDC's bucket, and only what it lists is imported`;
    this.warnings.set(series.uid, warning);
    this.logger.warn({ series: series.uid }, `series ${series.uid}: ${warning}`);
  }
}
