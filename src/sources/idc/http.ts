import type { Got, Response } from 'got';
import { baseHttp } from '../../http-request.js';
import { parseRetryAfter } from '../../retry.js';
import { idcHttpError, type IdcHttpError } from './errors.js';

/**
 * got for IDC: no retries of its own (ours are per page, per range, per object, resuming bodies), no content
 * decoding (an ETag is of the stored bytes) and no throwing on HTTP errors (S3's XML says more than a status).
 */
export function idcHttp(options: { stallTimeoutMs?: number; insecure?: boolean } = {}): Got {
  return baseHttp.extend({
    timeout: { connect: 30_000, secureConnect: 30_000, socket: options.stallTimeoutMs ?? 60_000 },
    https: { rejectUnauthorized: !options.insecure },
    retry: { limit: 0 },
    decompress: false,
    throwHttpErrors: false,
  });
}

export function header(response: Response<unknown>, name: string): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The error for a non-2xx answer, with S3's code and Retry-After; `body` defaults to the response's own. */
export function errorOf(response: Response<unknown>, what: string, body: unknown = response.body): IdcHttpError {
  const text = typeof body === 'string' ? body : Buffer.isBuffer(body) ? body.toString('utf8', 0, 4096) : '';
  return idcHttpError(response.statusCode, text, what, parseRetryAfter(header(response, 'retry-after')));
}
