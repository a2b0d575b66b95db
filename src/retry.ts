import { setTimeout as sleep } from 'node:timers/promises';
import { AbortedError, XtdError } from './errors.js';

export interface RetryPolicy {
  /** Total attempts, the first included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = Object.freeze({ attempts: 4, baseDelayMs: 2000, maxDelayMs: 60000 });

/**
 * Delay before the next attempt, or 0 to stop. Capped exponential backoff with full jitter; a server's
 * Retry-After wins when it asks for longer. Pure, so it is tested without a server.
 */
export function retryDelay(attempt: number, policy: RetryPolicy, retryAfterMs?: number, random: () => number = Math.random): number {
  if (attempt >= policy.attempts) return 0;
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  const jittered = Math.max(1, Math.round(ceiling / 2 + (random() * ceiling) / 2));
  return retryAfterMs !== undefined && retryAfterMs > jittered ? Math.min(retryAfterMs, policy.maxDelayMs * 5) : jittered;
}

/** Network error codes worth another attempt: the peer or the path failed, not the request. */
const TRANSIENT_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH',
  'ERR_STREAM_PREMATURE_CLOSE', 'ERR_HTTP_CONTENT_LENGTH_MISMATCH', 'Z_DATA_ERROR', 'Z_BUF_ERROR',
]);
const TRANSIENT_STATUS = new Set([408, 423, 429, 500, 502, 503, 504]);

/** Decides from codes and statuses, never from message text. */
export function isRetryable(error: unknown): boolean {
  if (error instanceof AbortedError) return false;
  if (error instanceof XtdError) {
    if (error.retryable) return true;
    const status = (error as { status?: number }).status;
    return status !== undefined && TRANSIENT_STATUS.has(status);
  }
  const code = (error as { code?: string } | undefined)?.code;
  if (code === 'ETIMEDOUT' || code === 'ERR_GOT_REQUEST_ERROR') return true;
  const status = (error as { response?: { statusCode?: number } }).response?.statusCode;
  if (status !== undefined) return TRANSIENT_STATUS.has(status);
  return code !== undefined && TRANSIENT_CODES.has(code);
}

/** Retry-After in ms from a header value (seconds or an HTTP date). */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Sleeps, but wakes with AbortedError when the run is stopped. */
export async function pause(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch {
    throw new AbortedError();
  }
}
