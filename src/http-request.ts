import http, { type ClientRequest, type RequestOptions } from 'node:http';
import https from 'node:https';
import got, { type Got } from 'got';
import { proxyAuthorization, proxyFor, tunnelAgent } from './proxy.js';
import { USER_AGENT } from './version.js';

type Callback = (error?: Error | null) => void;

/** Keep-alive agents as Node's global ones are by default (docs/reference/proxies.md#loopback). */
const DIRECT_HTTP = new http.Agent({ keepAlive: true, timeout: 5000 });
const DIRECT_HTTPS = new https.Agent({ keepAlive: true, timeout: 5000 });

/**
 * A request whose connection failed reports it once, through its 'error' event. Node 24.20+ and 26.7+ (the image
 * runs 26) also call back the header write queued before the connect with ERR_SOCKET_CLOSED_BEFORE_CONNECTION; got
 * 14 takes that second report as the outcome, so a refused connection stopped its retries at the first attempt and
 * surfaced as that code (docs/reference/node-runtime.md#connect-failure-reports). The late report is dropped, as
 * Node before those versions never made it; any other callback error passes.
 */
export function reportingFailureOnce(request: ClientRequest): ClientRequest {
  let failed = false;
  request.prependListener('error', () => {
    failed = true;
  });
  const quiet = (args: unknown[]): unknown[] =>
    args.map((arg) => {
      if (typeof arg !== 'function') return arg;
      const done = arg as Callback;
      return (error?: Error | null) => {
        if (failed && (error as NodeJS.ErrnoException | null | undefined)?.code === 'ERR_SOCKET_CLOSED_BEFORE_CONNECTION') return;
        done(error);
      };
    });
  const { write, end } = request;
  request.write = function (this: ClientRequest, ...args: unknown[]) {
    return (write as (...a: unknown[]) => boolean).apply(this, quiet(args));
  } as ClientRequest['write'];
  request.end = function (this: ClientRequest, ...args: unknown[]) {
    return (end as (...a: unknown[]) => ClientRequest).apply(this, quiet(args));
  } as ClientRequest['end'];
  // Only writes queued before the connect can get the late report: once connected, the body's chunks (an upload's
  // every chunk passes here) go straight to Node's own methods again.
  const unwrap = () => {
    Reflect.deleteProperty(request, 'write');
    Reflect.deleteProperty(request, 'end');
  };
  request.once('socket', (socket) => {
    if (socket.connecting) socket.once('connect', unwrap);
    else unwrap();
  });
  return request;
}

/**
 * got's `request` option: Node's own http(s).request, through {@link reportingFailureOnce}, and through the proxy
 * the environment names for this URL, if any (src/proxy.ts): an https request in a CONNECT tunnel, so TLS runs
 * end to end with the server; a plain http one sent to the proxy with its absolute URL, as HTTP/1.1 proxies take it.
 */
export function nodeRequest(url: URL, options: RequestOptions, callback?: (response: http.IncomingMessage) => void): ClientRequest {
  const proxy = proxyFor(url);
  let target = url;
  if (proxy && url.protocol === 'https:') {
    options = { ...options, agent: tunnelAgent(proxy) };
  } else if (proxy) {
    const authorization = proxyAuthorization(proxy);
    target = new URL(proxy.origin);
    options = { ...options, path: url.href, headers: { ...options.headers, host: url.host, ...(authorization && { 'proxy-authorization': authorization }) } };
    // TLS to an https:// proxy is checked against the proxy's name; Node would take the Host header's.
    if (proxy.protocol === 'https:') options = { ...options, servername: proxy.hostname } as RequestOptions;
  }
  // Never Node's global agents: from Node 24 on, NODE_USE_ENV_PROXY makes them proxy by themselves, a second time.
  if (!options.agent) options = { ...options, agent: target.protocol === 'https:' ? DIRECT_HTTPS : DIRECT_HTTP };
  const send = target.protocol === 'https:' ? https.request : http.request;
  return reportingFailureOnce(callback ? send(target, options, callback) : send(target, options));
}

/** The got every client extends: our User-Agent, and failures reported once. */
export const baseHttp: Got = got.extend({ headers: { 'user-agent': USER_AGENT }, request: nodeRequest });
