import { ConnectionError, TciaHttpError, XnatHttpError } from '../../src/errors.js';
import { isRetryable, parseRetryAfter, retryDelay } from '../../src/retry.js';

const policy = { attempts: 4, baseDelayMs: 1000, maxDelayMs: 8000 };

describe('retryDelay', () => {
  it('backs off exponentially with jitter inside [ceiling/2, ceiling] and stops after the last attempt', () => {
    expect(retryDelay(1, policy, undefined, () => 0)).toBe(500);
    expect(retryDelay(1, policy, undefined, () => 1)).toBe(1000);
    expect(retryDelay(3, policy, undefined, () => 1)).toBe(4000);
    expect(retryDelay(4, policy)).toBe(0);
  });
  it('waits at least as long as Retry-After asks', () => {
    expect(retryDelay(1, policy, 5000, () => 0)).toBe(5000);
    expect(retryDelay(1, policy, 10, () => 0)).toBe(500);
  });
  it('caps the exponential part', () => {
    expect(retryDelay(3, { attempts: 10, baseDelayMs: 1000, maxDelayMs: 2000 }, undefined, () => 1)).toBe(2000);
  });
});

describe('isRetryable', () => {
  it('decides from status and code', () => {
    expect(isRetryable(new TciaHttpError(500, 'x'))).toBe(true);
    expect(isRetryable(new TciaHttpError(400, 'x'))).toBe(false);
    expect(isRetryable(new XnatHttpError(423, 'POST', '/', 'locked'))).toBe(true);
    expect(isRetryable(new XnatHttpError(409, 'POST', '/', 'conflict'))).toBe(false);
    expect(isRetryable(new ConnectionError('TCIA', 'ECONNRESET', 'reset', { retryable: true }))).toBe(true);
    expect(isRetryable(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toBe(true);
    expect(isRetryable(new Error('timeout 500 EOF'))).toBe(false);
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});
