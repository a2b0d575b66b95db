// Run-time fault injection for the NBIA emulator: rules scoped by endpoint and series that count down as they fire.

/** Where a rule applies and how often; `count` defaults to 1 and may be Infinity. */
export interface FaultScope {
  /**
   * Endpoint names: 'getImage' matches every version, 'v1/getImage' only v1, '*' everything. The default is every
   * endpoint for failFirst and the two zip endpoints (getImage, getImageWithMD5Hash) for the others.
   */
  endpoint?: string | string[];
  /** Only requests for this series (the query's SeriesInstanceUID, or a member of a metadata `list`). */
  seriesUid?: string;
  count?: number;
}

/** Answer with an error instead of the real response; default 500 text/plain (the outage shape, docs/reference/nbia.md#retries). */
export interface FailFirstFault extends FaultScope {
  status?: number;
  body?: string;
  contentType?: string;
  /** Seconds, sent as a Retry-After header (use with status 429 or 503). */
  retryAfter?: number;
}

/** A Tomcat-style HTML page instead of the zip; status 200 by default, or e.g. 460/462 as the servlet sends. */
export interface HtmlFault extends FaultScope {
  status?: number;
}

/** Stop the zip body after `bytes` bytes. */
export interface ByteFault extends FaultScope {
  bytes: number;
}

/** Flip one byte inside DICOM entry `entryIndex` (0-based among .dcm entries, in served order). */
export interface CorruptFault extends FaultScope {
  entryIndex: number;
  /** Which byte: from the start when >= 0, from the end when < 0; default -1, the last pixel byte. */
  offset?: number;
}

/** An extra non-DICOM entry right after the first .dcm entry. */
export interface NonDicomFault extends FaultScope {
  name?: string;
  content?: string;
}

/**
 * A damaged copy of DICOM entry `entryIndex` (one byte flipped) written just before it, under the same name or
 * under `name` (such as `other/00000002.dcm`). Java's ZipOutputStream refuses a repeated name, so NBIA never sends
 * this; it stands for other servers (docs/reference/nbia.md#md5-list).
 */
export interface DuplicateEntryFault extends FaultScope {
  entryIndex: number;
  name?: string;
}

/** Write NBIA's blank hash (a single space, what its CTP ingest stores without a digest) for DICOM entry `entryIndex`. */
export interface BlankMd5Fault extends FaultScope {
  entryIndex: number;
}

/** A database NULL in `column` of the series' getSeriesMetadata row, written as NBIA's CSV writer writes one. */
export interface NullCellFault extends FaultScope {
  column: string;
}

/** What `set`/`add` accept; numbers and `true` are shorthands noted per field. */
export interface NbiaFaultSpec {
  /** A number is the count. */
  failFirst?: number | FailFirstFault;
  /** `true` or a number (the count) for status 200. */
  htmlInsteadOfZip?: true | number | HtmlFault;
  /** A number is the byte offset; the socket is destroyed once that many body bytes are written. */
  truncateAfterBytes?: number | ByteFault;
  /** A number is the byte offset; the response then sends nothing more until the client gives up. */
  stallAfterBytes?: number | ByteFault;
  corruptByte?: CorruptFault;
  /** `true` adds `readme.txt`. */
  nonDicomEntry?: true | NonDicomFault;
  duplicateEntry?: DuplicateEntryFault;
  blankMd5?: BlankMd5Fault;
  /** Endpoint getSeriesMetadata by default; fires once per row, so `count` counts rows. */
  nullMetadataCell?: NullCellFault;
}

/** The parameters a fault hands to the route once it fires. */
export interface FaultParams {
  failFirst: { status: number; body: string; contentType: string; retryAfter?: number };
  htmlInsteadOfZip: { status: number };
  truncateAfterBytes: { bytes: number };
  stallAfterBytes: { bytes: number };
  corruptByte: { entryIndex: number; offset: number };
  nonDicomEntry: { name: string; content: string };
  duplicateEntry: { entryIndex: number; name?: string };
  blankMd5: { entryIndex: number };
  nullMetadataCell: { column: string };
}

export type FaultKind = keyof FaultParams;

/** The request a fault is tested against: endpoint as 'v4/getImage' and the series it concerns. */
export interface FaultTarget {
  endpoint: string;
  seriesUids: readonly string[];
}

/** One fault that fired, for assertions. */
export interface FiredFault {
  kind: FaultKind;
  endpoint: string;
  seriesUid?: string;
  at: number;
}

interface Rule<K extends FaultKind = FaultKind> {
  kind: K;
  params: FaultParams[K];
  endpoints: readonly string[];
  seriesUid?: string;
  remaining: number;
}

const ZIP_ENDPOINTS = ['getImage', 'getImageWithMD5Hash'];

// Tomcat's reason phrases for the statuses tests use; anything else falls back to a generic phrase.
const REASONS: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** Default outage body: 48 bytes, the Content-Length of the live 500s in docs/reference/nbia.md#retries. */
export const OUTAGE_BODY = 'The server encountered an unexpected condition.\n';

function scope(spec: FaultScope, defaults: readonly string[]): Pick<Rule, 'endpoints' | 'seriesUid' | 'remaining'> {
  const endpoints = spec.endpoint === undefined ? defaults : [spec.endpoint].flat();
  return { endpoints, seriesUid: spec.seriesUid, remaining: spec.count ?? 1 };
}

function normalize(spec: NbiaFaultSpec): Rule[] {
  const rules: Rule[] = [];
  if (spec.failFirst !== undefined) {
    const f = typeof spec.failFirst === 'number' ? { count: spec.failFirst } : spec.failFirst;
    const status = f.status ?? 500;
    const body = f.body ?? (status === 500 ? OUTAGE_BODY : `${REASONS[status] ?? 'Error'}\n`);
    const params = { status, body, contentType: f.contentType ?? 'text/plain', retryAfter: f.retryAfter };
    rules.push({ kind: 'failFirst', params, ...scope(f, ['*']) });
  }
  if (spec.htmlInsteadOfZip !== undefined) {
    const raw = spec.htmlInsteadOfZip;
    const f: HtmlFault = raw === true ? {} : typeof raw === 'number' ? { count: raw } : raw;
    rules.push({ kind: 'htmlInsteadOfZip', params: { status: f.status ?? 200 }, ...scope(f, ZIP_ENDPOINTS) });
  }
  for (const kind of ['truncateAfterBytes', 'stallAfterBytes'] as const) {
    const raw = spec[kind];
    if (raw === undefined) continue;
    const f: ByteFault = typeof raw === 'number' ? { bytes: raw } : raw;
    rules.push({ kind, params: { bytes: f.bytes }, ...scope(f, ZIP_ENDPOINTS) });
  }
  if (spec.corruptByte !== undefined) {
    const f = spec.corruptByte;
    rules.push({ kind: 'corruptByte', params: { entryIndex: f.entryIndex, offset: f.offset ?? -1 }, ...scope(f, ZIP_ENDPOINTS) });
  }
  if (spec.nonDicomEntry !== undefined) {
    const f: NonDicomFault = spec.nonDicomEntry === true ? {} : spec.nonDicomEntry;
    const params = { name: f.name ?? 'readme.txt', content: f.content ?? 'This file is not DICOM.\n' };
    rules.push({ kind: 'nonDicomEntry', params, ...scope(f, ZIP_ENDPOINTS) });
  }
  if (spec.duplicateEntry !== undefined) {
    const f = spec.duplicateEntry;
    rules.push({ kind: 'duplicateEntry', params: { entryIndex: f.entryIndex, name: f.name }, ...scope(f, ZIP_ENDPOINTS) });
  }
  if (spec.blankMd5 !== undefined) {
    rules.push({ kind: 'blankMd5', params: { entryIndex: spec.blankMd5.entryIndex }, ...scope(spec.blankMd5, ZIP_ENDPOINTS) });
  }
  if (spec.nullMetadataCell !== undefined) {
    rules.push({ kind: 'nullMetadataCell', params: { column: spec.nullMetadataCell.column }, ...scope(spec.nullMetadataCell, ['getSeriesMetadata']) });
  }
  return rules;
}

function endpointMatches(patterns: readonly string[], endpoint: string): boolean {
  const bare = endpoint.slice(endpoint.indexOf('/') + 1);
  return patterns.some((p) => p === '*' || p === endpoint || p === bare);
}

/** The emulator's fault switchboard; tests change it between (or during) requests. */
export class NbiaFaults {
  private rules: Rule[] = [];
  /** Every fault that fired, oldest first. */
  readonly fired: FiredFault[] = [];

  /** Replaces all rules with the ones in `spec`. */
  set(spec: NbiaFaultSpec): this {
    this.rules = [];
    return this.add(spec);
  }

  /** Adds rules next to the existing ones (e.g. two failFirst rules for different series). */
  add(spec: NbiaFaultSpec): this {
    this.rules.push(...normalize(spec));
    return this;
  }

  /** Removes all rules and forgets what fired. */
  clear(): void {
    this.rules = [];
    this.fired.length = 0;
  }

  /** How many more times faults of `kind` (or of any kind) will fire; Infinity for permanent ones. */
  remaining(kind?: FaultKind): number {
    return this.rules.filter((r) => kind === undefined || r.kind === kind).reduce((n, r) => n + r.remaining, 0);
  }

  /** Consumes one firing of the first matching rule of `kind`, returning its parameters. */
  take<K extends FaultKind>(kind: K, target: FaultTarget): FaultParams[K] | undefined {
    const rule = this.rules.find(
      (r): r is Rule<K> =>
        r.kind === kind &&
        r.remaining > 0 &&
        endpointMatches(r.endpoints, target.endpoint) &&
        (r.seriesUid === undefined || target.seriesUids.includes(r.seriesUid)),
    );
    if (!rule) return undefined;
    rule.remaining -= 1;
    const seriesUid = rule.seriesUid ?? (target.seriesUids.length === 1 ? target.seriesUids[0] : undefined);
    this.fired.push({ kind, endpoint: target.endpoint, seriesUid, at: Date.now() });
    return rule.params;
  }
}

/** A Tomcat 9 style error page, the shape NBIA's servlet and proxies send instead of data. */
export function tomcatErrorPage(status: number): string {
  const title = `HTTP Status ${status} – ${REASONS[status] ?? (status === 200 ? 'OK' : 'Error')}`;
  return (
    `<!doctype html><html lang="en"><head><title>${title}</title><style type="text/css">` +
    'body {font-family:Tahoma,Arial,sans-serif;} h1 {font-size:22px;}</style></head><body>' +
    `<h1>${title}</h1><hr class="line" /><p><b>Type</b> Exception Report</p>` +
    '<p><b>Message</b> Request processing failed</p>' +
    '<p><b>Description</b> The server encountered an unexpected condition that prevented it from fulfilling the request.</p>' +
    '<hr class="line" /><h3>Apache Tomcat/9.0.83</h3></body></html>'
  );
}
