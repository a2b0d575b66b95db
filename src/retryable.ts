/**
 * What is worth another attempt, in one table: HTTP statuses per peer and network error codes. Everything
 * else a peer answers is final, and an error the tool did not raise on purpose is a bug (src/errors.ts#isBug),
 * never retried. Decisions come from codes and statuses, never from message text.
 */

export type Peer = 'TCIA' | 'XNAT' | 'IDC';

/** HTTP statuses a peer may answer with and then succeed on a later attempt. */
export const RETRYABLE_STATUS: Readonly<Record<Peer, ReadonlySet<number>>> = Object.freeze({
  TCIA: new Set([408, 429, 500, 502, 503, 504]),
  // XNAT answers 423 to an archive of a session that is already archiving (docs/reference/xnat-rest.md#receiving-and-locking).
  XNAT: new Set([408, 423, 429, 500, 502, 503, 504]),
  // S3 asks clients to retry 500 InternalError and 503 SlowDown (docs/reference/idc.md#errors).
  IDC: new Set([408, 429, 500, 502, 503, 504]),
});

/** S3 error codes (`<Code>` in the body) worth another attempt whatever the status. */
export const RETRYABLE_S3_CODES: ReadonlySet<string> = new Set(['SlowDown']);

/**
 * S3 error codes that the same request would get again but a new attempt of the series can get past: 412
 * PreconditionFailed answers an If-Match with the listed ETag once the object was replaced after the listing, and
 * the next attempt lists the series again (docs/reference/idc.md#errors).
 */
export const NEW_ATTEMPT_S3_CODES: ReadonlySet<string> = new Set(['PreconditionFailed']);

/** Connection failures; got's own retry of idempotent requests uses this list. */
export const CONNECTION_CODES: readonly string[] = Object.freeze([
  'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'EADDRINUSE',
  // A proxy that could not reach the server this time (src/proxy.ts ProxyTunnelError, CONNECT answered 502-504).
  'ERR_PROXY_UPSTREAM',
]);

/**
 * Every raw error code that means the peer or the path failed, not the request: the connections above, a body
 * cut short or corrupt on the way, and got's code for a request error it has no name for.
 */
export const TRANSPORT_CODES: readonly string[] = Object.freeze([
  ...CONNECTION_CODES,
  'ERR_STREAM_PREMATURE_CLOSE', 'ERR_HTTP_CONTENT_LENGTH_MISMATCH', 'Z_DATA_ERROR', 'Z_BUF_ERROR', 'ERR_GOT_REQUEST_ERROR',
  // A zip that does not parse (src/errors.ts ZipFormatError): its bytes were damaged or cut on the way.
  'ERR_ZIP_FORMAT',
]);
const TRANSPORT = new Set(TRANSPORT_CODES);

/** Statuses for got's `retry.statusCodes` on a peer's idempotent requests. */
export function retryableStatuses(peer: Peer): number[] {
  return [...RETRYABLE_STATUS[peer]];
}

export function isRetryableStatus(peer: Peer, status: number): boolean {
  return RETRYABLE_STATUS[peer].has(status);
}

/**
 * A raw (not our own) error that comes from the connection or the byte stream: a reset, a stall, a cut-off or
 * corrupt compressed body. Such an error is transient; any other raw error is a bug.
 */
export function isTransportError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' && TRANSPORT.has(code);
}
