import type { Logger } from '../log.js';
import type { IdcSource } from './idc/idc-source.js';
import type { SeriesSource, SourceName, SourceSeries } from './types.js';

/** --source: where series come from (README "Sources"). */
export type SourceMode = 'auto' | 'idc' | 'nbia';
export const SOURCE_MODES: readonly SourceMode[] = ['auto', 'idc', 'nbia'];

/**
 * Picks the source of each series. `auto`: what IDC's index holds comes from IDC, the rest from NBIA, and a series
 * whose IDC attempt failed (or whose listing is empty: a stale index) comes from NBIA from then on, once.
 * `idc`: IDC only (TCIA is asked only for the MD5 of an object whose ETag is not one). `nbia`: NBIA only, IDC is never asked.
 */
export class SourceRouter implements SeriesSource {
  readonly name: SourceName;
  private readonly atNbia = new Set<string>();
  /** Series whose last attempt went to IDC. */
  private readonly triedIdc = new Set<string>();

  constructor(
    private readonly mode: SourceMode,
    private readonly sources: { idc?: IdcSource; nbia?: SeriesSource },
    private readonly logger?: Logger,
  ) {
    this.name = mode === 'nbia' ? 'nbia' : 'idc';
  }

  /** Where the plan expects a series to come from. */
  planned(seriesUid: string): SourceName {
    if (this.mode === 'nbia') return 'nbia';
    if (this.mode === 'idc') return 'idc';
    return this.sources.idc?.has(seriesUid) ? 'idc' : 'nbia';
  }

  async open(seriesUid: string, signal: AbortSignal): Promise<SourceSeries | undefined> {
    const { idc, nbia } = this.sources;
    this.triedIdc.delete(seriesUid);
    if (this.planned(seriesUid) === 'idc' && !this.atNbia.has(seriesUid) && idc) {
      this.triedIdc.add(seriesUid);
      const series = await idc.open(seriesUid, signal);
      if (series || this.mode === 'idc') return series;
      this.atNbia.add(seriesUid);
      this.triedIdc.delete(seriesUid);
      this.logger?.warn({ series: seriesUid }, `series ${seriesUid}: IDC's index lists it but its bucket holds no objects (stale index); fetching it from NBIA`);
    }
    return nbia?.open(seriesUid, signal);
  }

  fallBack(seriesUid: string): boolean {
    if (this.mode !== 'auto' || !this.triedIdc.has(seriesUid) || this.atNbia.has(seriesUid) || !this.sources.nbia) return false;
    this.atNbia.add(seriesUid);
    return true;
  }
}
