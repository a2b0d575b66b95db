import { setTimeout as sleep } from 'node:timers/promises';
import { AbortedError, PeerHttpError, XtdError } from './errors.js';
import { isTransportError } from './retryable.js';

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

/**
 * Whether a failure is worth another attempt. Our own errors say so themselves (a peer's status is judged by
 * the table in src/retryable.ts when the error is made); a raw error is retried only when it comes from the
 * connection or the byte stream. Any other raw error is a bug and is never retried. `scope` 'request' is the same
 * request sent again, 'attempt' a new attempt of the whole series; some errors are worth only the second.
 */
export function isRetryable(error: unknown, scope: 'request' | 'attempt' = 'attempt'): boolean {
  if (error instanceof AbortedError) return false;
  if (error instanceof XtdError) return error.retryable && !(scope === 'request' && error.onlyOnNewAttempt);
  return isTransportError(error);
}

/** The wait a peer asked for with Retry-After, when the error carries one. */
export function retryAfterOf(error: unknown): number | undefined {
  return error instanceof PeerHttpError ? error.retryAfterMs : undefined;
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

/** `send` under a retry policy: transient failures back off (honouring Retry-After); anything else is thrown at once. */
export async function withRetries<T>(policy: RetryPolicy, signal: AbortSignal | undefined, send: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await send();
    } catch (error) {
      const delay = isRetryable(error, 'request') ? retryDelay(attempt, policy, retryAfterOf(error)) : 0;
      if (delay === 0 || signal?.aborted) throw error;
      await pause(delay, signal);
    }
  }
}
