// Run-time fault injection for the IDC emulator: rules scoped by request kind and key, counting down as they fire.

/** What a request is: a bucket listing, an object GET/HEAD, or the index file. */
export type IdcRequestKind = 'list' | 'object' | 'index';

/** Where a rule applies and how often; `count` defaults to 1 and may be Infinity. */
export interface IdcFaultScope {
  /** Default: 'object' for body faults, every kind for slowDown and reset. */
  kind?: IdcRequestKind | IdcRequestKind[];
  /** Only keys starting with this (e.g. '<series uuid>/'); for a listing, its prefix is matched. */
  keyPrefix?: string;
  /** Only requests of this method (e.g. 'GET', to spare a HEAD); default any. */
  method?: string;
  count?: number;
}

/** 503 SlowDown (S3's throttling answer) or another S3 error code. */
export interface IdcErrorFault extends IdcFaultScope {
  status?: number;
  code?: string;
  /** Seconds, sent as Retry-After. */
  retryAfter?: number;
}

/** Cut the body after `bytes` bytes (truncate: the connection closes; stall: it stays open and silent). */
export interface IdcByteFault extends IdcFaultScope {
  bytes: number;
}

/** What tests switch on; numbers are counts (error, reset, corrupt) or byte offsets (truncate, stall). */
export interface IdcFaultSpec {
  /** S3 XML error instead of the answer; default 503 SlowDown. */
  error?: number | IdcErrorFault;
  /** The connection is destroyed before any response. */
  reset?: number | IdcFaultScope;
  truncateAfterBytes?: number | IdcByteFault;
  stallAfterBytes?: number | IdcByteFault;
  /** The object's last byte is flipped: it still parses, only its MD5 no longer matches. */
  corruptByte?: number | IdcFaultScope;
}

export interface IdcFaultParams {
  error: { status: number; code: string; retryAfter?: number };
  reset: Record<string, never>;
  truncateAfterBytes: { bytes: number };
  stallAfterBytes: { bytes: number };
  corruptByte: Record<string, never>;
}

export type IdcFaultKind = keyof IdcFaultParams;

/** One fault that fired, for assertions. */
export interface IdcFiredFault {
  kind: IdcFaultKind;
  requestKind: IdcRequestKind;
  key: string;
  at: number;
}

interface Rule<K extends IdcFaultKind = IdcFaultKind> {
  kind: K;
  params: IdcFaultParams[K];
  kinds: readonly IdcRequestKind[];
  keyPrefix?: string;
  method?: string;
  remaining: number;
}

const ALL: readonly IdcRequestKind[] = ['list', 'object', 'index'];
const BODY: readonly IdcRequestKind[] = ['object'];

function scoped<K extends IdcFaultKind>(kind: K, params: IdcFaultParams[K], scope: IdcFaultScope, defaults: readonly IdcRequestKind[]): Rule<K> {
  const kinds = scope.kind === undefined ? defaults : [scope.kind].flat();
  return { kind, params, kinds, keyPrefix: scope.keyPrefix, method: scope.method, remaining: scope.count ?? 1 };
}

function countScope(raw: number | IdcFaultScope): IdcFaultScope {
  return typeof raw === 'number' ? { count: raw } : raw;
}

function normalize(spec: IdcFaultSpec): Rule[] {
  const rules: Rule[] = [];
  if (spec.error !== undefined) {
    const f: IdcErrorFault = typeof spec.error === 'number' ? { count: spec.error } : spec.error;
    const params = { status: f.status ?? 503, code: f.code ?? 'SlowDown', retryAfter: f.retryAfter };
    rules.push(scoped('error', params, f, ALL));
  }
  if (spec.reset !== undefined) rules.push(scoped('reset', {}, countScope(spec.reset), ALL));
  for (const kind of ['truncateAfterBytes', 'stallAfterBytes'] as const) {
    const raw = spec[kind];
    if (raw === undefined) continue;
    const f: IdcByteFault = typeof raw === 'number' ? { bytes: raw } : raw;
    rules.push(scoped(kind, { bytes: f.bytes }, f, BODY));
  }
  if (spec.corruptByte !== undefined) rules.push(scoped('corruptByte', {}, countScope(spec.corruptByte), BODY));
  return rules;
}

/** The emulator's fault switchboard; tests change it between (or during) requests. */
export class IdcFaults {
  private rules: Rule[] = [];
  readonly fired: IdcFiredFault[] = [];

  /** Replaces all rules. */
  set(spec: IdcFaultSpec): this {
    this.rules = [];
    return this.add(spec);
  }

  /** Adds rules beside the existing ones. */
  add(spec: IdcFaultSpec): this {
    this.rules.push(...normalize(spec));
    return this;
  }

  clear(): void {
    this.rules = [];
    this.fired.length = 0;
  }

  /** Firings left, of `kind` or of all kinds. */
  remaining(kind?: IdcFaultKind): number {
    return this.rules.filter((r) => kind === undefined || r.kind === kind).reduce((n, r) => n + r.remaining, 0);
  }

  /** Consumes one firing of the first matching rule of `kind`. */
  take<K extends IdcFaultKind>(kind: K, requestKind: IdcRequestKind, key: string, method = 'GET'): IdcFaultParams[K] | undefined {
    const rule = this.rules.find(
      (r): r is Rule<K> => r.kind === kind && r.remaining > 0 && r.kinds.includes(requestKind) && (r.keyPrefix === undefined || key.startsWith(r.keyPrefix))
        && (r.method === undefined || r.method === method),
    );
    if (!rule) return undefined;
    rule.remaining -= 1;
    this.fired.push({ kind, requestKind, key, at: Date.now() });
    return rule.params;
  }
}
