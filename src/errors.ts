/** Error hierarchy: every failure the tool reports carries a stable code and, where a user can act, a hint. */
import type { Logger } from './log.js';
import { isRetryableStatus, type Peer } from './retryable.js';

export interface XtdErrorOptions {
  hint?: string;
  seriesUid?: string;
  cause?: unknown;
  retryable?: boolean;
  /** With `retryable`: only a new attempt of the series, which asks for everything afresh, can succeed. */
  onlyOnNewAttempt?: boolean;
}

/** Base class for every error the tool raises on purpose. */
export class XtdError extends Error {
  readonly code: string;
  readonly hint?: string;
  readonly seriesUid?: string;
  readonly retryable: boolean;
  /**
   * Repeating the very request cannot help (what it asked for has changed since it was listed), so request-level
   * retries leave it to a new attempt of the series (src/retry.ts isRetryable).
   */
  readonly onlyOnNewAttempt: boolean;

  constructor(code: string, message: string, options: XtdErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
    this.seriesUid = options.seriesUid;
    this.retryable = options.retryable ?? false;
    this.onlyOnNewAttempt = options.onlyOnNewAttempt ?? false;
  }
}

/** Bad command line or configuration: exit code 2, nothing uploaded. */
export class UsageError extends XtdError {
  constructor(message: string, hint?: string) {
    super('ERR_USAGE', message, { hint });
  }
}

/** XNAT knows the credentials but will not serve the account (password expired, disabled): exit code 2. */
export class XnatAccountError extends XtdError {
  constructor(message: string, hint: string) {
    super('ERR_XNAT_ACCOUNT', message, { hint });
  }
}

/** The manifest cannot be used: exit code 2, nothing uploaded. */
export class ManifestError extends XtdError {
  constructor(message: string, hint?: string) {
    super('ERR_MANIFEST', message, { hint });
  }
}

/** A peer could not be reached at all (DNS, refused, TLS) or dropped the connection. */
export class ConnectionError extends XtdError {
  readonly peer: Peer;
  constructor(peer: Peer, code: string, message: string, options: XtdErrorOptions = {}) {
    super(code, message, options);
    this.peer = peer;
  }
}

export interface PeerHttpErrorOptions extends XtdErrorOptions {
  /** From the answer's Retry-After header, when it sent one. */
  retryAfterMs?: number;
}

/**
 * An error status a peer really answered. Whether it is worth another attempt comes from the table in
 * src/retryable.ts unless the caller knows better (`retryable`).
 */
export class PeerHttpError extends XtdError {
  readonly peer: Peer;
  readonly status: number;
  readonly retryAfterMs?: number;
  constructor(peer: Peer, status: number, code: string, message: string, options: PeerHttpErrorOptions = {}) {
    super(code, message, { ...options, retryable: options.retryable ?? isRetryableStatus(peer, status) });
    this.peer = peer;
    this.status = status;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** An HTTP answer from TCIA that is an error status. */
export class TciaHttpError extends PeerHttpError {
  constructor(status: number, message: string, options: PeerHttpErrorOptions = {}) {
    super('TCIA', status, 'ERR_TCIA_HTTP', message, options);
  }
}

/** An HTTP answer from XNAT that is an error; `message` holds XNAT's own words where it gave any. */
export class XnatHttpError extends PeerHttpError {
  readonly method: string;
  readonly url: string;
  constructor(status: number, method: string, url: string, message: string, options: PeerHttpErrorOptions = {}) {
    super('XNAT', status, 'ERR_XNAT_HTTP', message, options);
    this.method = method;
    this.url = url;
  }
}

/** A peer answered with a success status but not what its API promises (an HTML page, no session URI). */
export class PeerAnswerError extends XtdError {
  readonly peer: Peer;
  constructor(peer: Peer, message: string, options: XtdErrorOptions = {}) {
    super(`ERR_${peer}_ANSWER`, message, options);
    this.peer = peer;
  }
}

/**
 * A prearchive entry XNAT left in a state it will not archive from by itself (CONFLICT, ERROR). The state is
 * what XNAT said; no HTTP status stands behind it (docs/reference/xnat-rest.md#prearchive-states).
 */
export class PrearchiveStateError extends XtdError {
  readonly state: string;
  constructor(prearchiveUri: string, state: string) {
    super('ERR_XNAT_PREARCHIVE_STATE', `XNAT could not archive ${prearchiveUri}: prearchive status ${state}`);
    this.state = state;
  }
}

/** A file's MD5 differs from the one TCIA published in md5hashes.csv. */
export class Md5MismatchError extends XtdError {
  constructor(file: string, expected: string, actual: string, seriesUid: string) {
    super('ERR_MD5_MISMATCH', `${file}: MD5 ${actual} does not match TCIA's ${expected}`, { seriesUid, retryable: true });
  }
}

/** What TCIA served is not the series the plan expects (not DICOM, wrong UIDs, wrong count, broken zip). */
export class SeriesContentError extends XtdError {
  constructor(message: string, seriesUid: string, options: { retryable?: boolean; cause?: unknown } = {}) {
    super('ERR_SERIES_CONTENT', message, { seriesUid, ...options });
  }
}

/** The run was stopped by a signal. */
export class AbortedError extends XtdError {
  constructor(message = 'stopped by signal') {
    super('ERR_ABORTED', message);
  }
}

/** One line for a person: the message, then the hint when there is one. */
export function describeError(error: unknown): string {
  if (error instanceof XtdError) return error.hint ? `${error.message} (${error.hint})` : error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}

/** An error the tool did not raise on purpose (not an XtdError, not a stop): a bug, never retried. */
export function isBug(error: unknown): boolean {
  return !(error instanceof XtdError) && (error as { name?: unknown } | null | undefined)?.name !== 'AbortError';
}

/**
 * The rule for bugs at the top of a run: log the stack at error level, so it reaches the person who files the
 * report, and end with exit code 1. Returns the exit code, or undefined when `error` is not a bug.
 */
export function reportBug(error: unknown, logger: Logger): 1 | undefined {
  if (!isBug(error)) return undefined;
  const stack = error instanceof Error ? error.stack : String(error);
  // The stack goes into the readable line too: in a Container Service launch that line (StdOut.log) is often all
  // a person can reach, since records are attached only by a run that changed something.
  logger.error({ stack }, `internal error (a bug, please report it with these lines): ${describeError(error)}${stack ? `\n${stack}` : ''}`);
  return 1;
}

/**
 * TCIA's zip does not parse: its bytes were damaged or cut on the way. A raw error with a code, so the retry table
 * (src/retryable.ts) counts it as a transport fault like a reset or a cut-off body.
 */
export class ZipFormatError extends Error {
  override name = 'ZipFormatError';
  readonly code = 'ERR_ZIP_FORMAT';
}
