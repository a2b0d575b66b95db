/** Switchable failure modes, armed from tests at run time and counted down per matching request. */

/** Where a request-level fault applies: `path` is tested against the raw URL (path and query). */
export interface FaultMatch {
  method?: string;
  path?: RegExp;
  /** How many matching requests it affects; default 1, `Infinity` for all. */
  times?: number;
}

/** One failure mode. */
export type XnatFault =
  /** Answer with this status and a status page before XNAT sees the request, as a proxy would. */
  | (FaultMatch & { kind: 'status'; status: 500 | 502 | 503 | 504; message?: string })
  /**
   * Reply 504 once the request body has arrived while the request is still carried out behind it
   * (nginx `proxy_read_timeout`, docs/reference/xnat-rest.md#proxy-timeouts). Defaults to commits and /services/archive;
   * the archive itself then finishes `archiveDelayMs` later (default 100) with the entry in ARCHIVING meanwhile.
   */
  | (FaultMatch & { kind: 'late-504'; archiveDelayMs?: number })
  /** 423 on commit, archive or import that touches a matching prearchive session. */
  | { kind: 'lock'; times?: number; project?: string; label?: string; studyInstanceUid?: string }
  /** Destroy the socket, at once or after `afterBytes` of the request body. */
  | (FaultMatch & { kind: 'drop'; afterBytes?: number })
  /** Treat `user` as a collaborator (read-only) on `project` until cleared. */
  | { kind: 'read-only'; user: string; project: string }
  /** Invalidate every HTTP session that exists `afterMs` from now (default now). */
  | { kind: 'expire-sessions'; afterMs?: number };

type Armed = XnatFault & { left: number };

const DEFAULT_LATE_PATH = /action=commit|\/services\/archive/;

/** The `emu.faults` controller. */
export class FaultController {
  private armed: Armed[] = [];
  private timers = new Set<NodeJS.Timeout>();

  constructor(private readonly expireAll: () => void) {}

  /** Arms one or more faults (they add to those already armed). */
  set(...faults: XnatFault[]): void {
    for (const f of faults) {
      if (f.kind === 'expire-sessions') {
        if (!f.afterMs) this.expireAll();
        else {
          const t = setTimeout(() => {
            this.timers.delete(t);
            this.expireAll();
          }, f.afterMs);
          t.unref();
          this.timers.add(t);
        }
        continue;
      }
      const times = 'times' in f && f.times !== undefined ? f.times : 1;
      this.armed.push({ ...f, left: times });
    }
  }

  /** Disarms everything, including read-only overrides and pending session expiries. */
  clear(): void {
    this.armed = [];
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  /** Faults still armed, with their remaining counts. */
  pending(): readonly (XnatFault & { left: number })[] {
    return this.armed.filter((f) => f.left > 0);
  }

  expireSessionsNow(): void {
    this.set({ kind: 'expire-sessions' });
  }

  expireSessionsAfterMs(ms: number): void {
    this.set({ kind: 'expire-sessions', afterMs: ms });
  }

  /** Shorthand for `{kind:'late-504'}` on commits. */
  commitTimeout(times = 1, archiveDelayMs = 100): void {
    this.set({ kind: 'late-504', times, archiveDelayMs });
  }

  /** @internal */
  takeStatus(method: string, url: string): { status: number; message: string } | undefined {
    const f = this.take('status', method, url);
    return f ? { status: f.status, message: f.message ?? defaultMessage(f.status) } : undefined;
  }

  /** @internal */
  takeLate504(method: string, url: string): { archiveDelayMs: number } | undefined {
    const f = this.take('late-504', method, url, DEFAULT_LATE_PATH, 'POST');
    return f ? { archiveDelayMs: f.archiveDelayMs ?? 100 } : undefined;
  }

  /** @internal */
  takeDrop(method: string, url: string): { afterBytes: number } | undefined {
    const f = this.take('drop', method, url);
    return f ? { afterBytes: f.afterBytes ?? 0 } : undefined;
  }

  /** @internal True (and counted) when a lock fault matches this prearchive session. */
  takeLock(project: string, label: string, studyInstanceUid: string): boolean {
    for (const f of this.armed) {
      if (f.kind !== 'lock' || f.left <= 0) continue;
      if (f.project !== undefined && f.project !== project) continue;
      if (f.label !== undefined && f.label !== label) continue;
      if (f.studyInstanceUid !== undefined && f.studyInstanceUid !== studyInstanceUid) continue;
      f.left--;
      return true;
    }
    return false;
  }

  /** @internal */
  isReadOnly(user: string, project: string): boolean {
    return this.armed.some((f) => f.kind === 'read-only' && f.user === user && f.project === project);
  }

  private take<K extends 'status' | 'late-504' | 'drop'>(
    kind: K,
    method: string,
    url: string,
    defaultPath?: RegExp,
    defaultMethod?: string,
  ): Extract<Armed, { kind: K }> | undefined {
    for (const f of this.armed) {
      if (f.kind !== kind || f.left <= 0) continue;
      const m = f as unknown as FaultMatch;
      const wantMethod = m.method ?? defaultMethod;
      if (wantMethod && wantMethod.toUpperCase() !== method) continue;
      const re = m.path ?? defaultPath;
      if (re && !re.test(url)) continue;
      f.left--;
      return f as Extract<Armed, { kind: K }>;
    }
    return undefined;
  }
}

function defaultMessage(status: number): string {
  switch (status) {
    case 502:
      return 'Bad Gateway';
    case 503:
      return 'Service Unavailable';
    case 504:
      return 'Gateway Timeout';
    default:
      return 'Internal Server Error';
  }
}
