import { ConnectionError, XtdError } from './errors.js';
import { duringProxyConnect, ProxyTunnelError, proxyFor, proxyLabel, proxyVariable } from './proxy.js';
import type { Peer } from './retryable.js';

/** Where each peer's address is set, for a hint. */
const ADDRESS_SETTING: Record<Peer, string> = { XNAT: '--xnat-host (or XNAT_HOST)', TCIA: '--tcia-url (or TCIA_URL, or the manifest\'s downloadServerUrl)', IDC: '--idc-index and --idc-endpoint (or IDC_INDEX, IDC_ENDPOINT)' };

const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_UNTRUSTED',
]);

/**
 * Turns a network failure into a one-line error a person can act on. Messages name the host only, never a
 * URL with credentials, and the original error is kept as `cause` for the debug log.
 */
export function translateNetworkError(error: unknown, peer: Peer, base: string): Error {
  if (error instanceof XtdError) return error;
  const code = (error as { code?: string }).code ?? '';
  const host = safeHost(base);
  const proxied = viaProxy(error, code, peer, base, host);
  if (proxied) return proxied;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new ConnectionError(peer, code, `cannot resolve ${peer} host ${host}`, { cause: error, retryable: code === 'EAI_AGAIN', hint: `check the ${ADDRESS_SETTING[peer]} spelling and DNS` });
  }
  if (code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') {
    return new ConnectionError(peer, code, `cannot connect to ${peer} at ${host} (${code})`, { cause: error, retryable: true, hint: `is ${peer} running and reachable from here?` });
  }
  if (TLS_CODES.has(code)) {
    return new ConnectionError(peer, code, `TLS certificate of ${peer} at ${host} is not trusted (${code})`, {
      cause: error,
      hint: 'for a self-signed or private CA, set NODE_EXTRA_CA_CERTS=/path/to/ca.pem, or pass --insecure to skip verification',
    });
  }
  if (speaksNoTls(code, error)) {
    const plain = base.replace(/^https:/i, 'http:');
    return new ConnectionError(peer, 'ERR_NOT_HTTPS', `${peer} at ${host}: this server does not speak HTTPS; did you mean ${plain}?`, { cause: error });
  }
  if (code === 'ETIMEDOUT') {
    return new ConnectionError(peer, code, `${peer} at ${host} stopped answering (timed out)`, { cause: error, retryable: true });
  }
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'ERR_STREAM_PREMATURE_CLOSE') {
    return new ConnectionError(peer, code, `${peer} at ${host} closed the connection (${code})`, { cause: error, retryable: true });
  }
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * Failures that belong to the proxy the environment names for `base`: reaching the proxy itself, or its refusal to
 * open a tunnel. Named as the proxy's, without its credentials, so nobody hunts for a fault at the server.
 */
function viaProxy(error: unknown, code: string, peer: Peer, base: string, host: string): ConnectionError | undefined {
  let target: URL;
  try {
    target = new URL(base);
  } catch {
    return undefined;
  }
  const proxy = proxyFor(target);
  if (!proxy) return undefined;
  const label = proxyLabel(proxy);
  const variable = proxyVariable(target);
  if (error instanceof ProxyTunnelError || code === 'ERR_PROXY_TUNNEL' || code === 'ERR_PROXY_UPSTREAM') {
    const status = tunnelStatus(error);
    if (code === 'ERR_PROXY_UPSTREAM') {
      return new ConnectionError(peer, code, `the proxy ${label} could not reach ${peer} at ${host} (${status})`, { cause: error, retryable: true });
    }
    if (status === 407) {
      return new ConnectionError(peer, code, `the proxy ${label} asks for credentials (407) to reach ${peer} at ${host}`, { cause: error, hint: `give them in ${variable}: http://user:password@proxy-host:port` });
    }
    return new ConnectionError(peer, code, `the proxy ${label} refused to connect to ${peer} at ${host} (${status})`, { cause: error, hint: `ask the proxy's administrators to allow ${host}, or list it in NO_PROXY if this machine reaches it directly` });
  }
  const hint = `check ${variable} (the proxy for ${target.protocol.slice(0, -1)} URLs); NO_PROXY lists hosts reached directly`;
  if (code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new ConnectionError(peer, code, `cannot connect to the proxy ${label} for ${peer} at ${host} (${code})`, { cause: error, retryable: code !== 'ENOTFOUND', hint });
  }
  if (duringProxyConnect(error) && code === 'ETIMEDOUT') {
    return new ConnectionError(peer, code, `the proxy ${label} did not answer (timed out) when asked for ${peer} at ${host}`, { cause: error, retryable: true, hint });
  }
  if (duringProxyConnect(error) && (code === 'ECONNRESET' || code === 'EPIPE')) {
    return new ConnectionError(peer, code, `the proxy ${label} closed the connection when asked for ${peer} at ${host} (${code})`, { cause: error, retryable: true, hint });
  }
  return undefined;
}

/**
 * A 407 answer: only a proxy sends one (docs/reference/proxies.md#crossing-a-proxy). Over plain http the proxy
 * answers in the server's place instead of refusing a tunnel, so it is reported as the same refusal.
 */
export function proxyAnswerError(status: number, peer: Peer, base: string): ConnectionError | undefined {
  if (status !== 407 || !proxyFor(base)) return undefined;
  return translateNetworkError(new ProxyTunnelError(407), peer, base) as ConnectionError;
}

/** The proxy's answer to CONNECT, on our error or on got's wrapper of it. */
function tunnelStatus(error: unknown): number | string {
  const own = error instanceof ProxyTunnelError ? error : (error as { cause?: unknown }).cause;
  return own instanceof ProxyTunnelError ? own.statusCode : 'no tunnel';
}

/** A TLS hello answered with plain HTTP: OpenSSL reports a record it cannot parse. */
function speaksNoTls(code: string, error: unknown): boolean {
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_HTTP_REQUEST') return true;
  return code === 'EPROTO' && /wrong version number|http request|packet length too long/i.test((error as Error).message ?? '');
}

function safeHost(base: string): string {
  try {
    return new URL(base).host;
  } catch {
    return base;
  }
}
