import type { Agent, RequestOptions } from 'node:http';
import { BlockList, isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { HttpsProxyAgent, type HttpsProxyAgentOptions } from 'hpagent';
import { getProxyForUrl } from 'proxy-from-env';
import type { SourcesConfig } from './config.js';
import { UsageError } from './errors.js';
import { IDC_S3 } from './sources/idc/index-location.js';

/**
 * An outgoing proxy from the environment, as curl and Python's requests (the tool this one replaces) honour it:
 * HTTPS_PROXY / HTTP_PROXY / ALL_PROXY name the proxy for each scheme and NO_PROXY the hosts reached directly
 * (docs/reference/proxies.md#environment-variables). proxy-from-env picks the proxy for each URL; hpagent tunnels
 * https through it (docs/reference/proxies.md#crossing-a-proxy).
 */

/** The variables proxy-from-env reads, lower case first as it does. */
const PROXY_VARIABLES = ['https_proxy', 'HTTPS_PROXY', 'http_proxy', 'HTTP_PROXY', 'all_proxy', 'ALL_PROXY'];

/**
 * Refuses, before any request, a proxy variable that is not an http(s) URL with its scheme: proxy-from-env passes
 * any value on, and reads a bare host:port with the request's scheme where curl and requests read http://.
 */
export function checkProxyEnvironment(env: NodeJS.ProcessEnv = process.env): void {
  for (const name of PROXY_VARIABLES) {
    const value = env[name]?.trim();
    if (!value) continue;
    let url: URL | undefined;
    try {
      url = new URL(value);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || !url.hostname || !/^https?:\/\//i.test(value)) {
      throw new UsageError(`${name} is not an http(s) proxy URL with its scheme`, 'write it as http://host:port (credentials, if the proxy asks for them, as http://user:password@host:port)');
    }
    // TLS to the proxy names it by host name; Node 26 refuses an IP address there (docs/reference/proxies.md#crossing-a-proxy).
    if (url.protocol === 'https:' && isIP(url.hostname.replace(/^\[|\]$/g, ''))) {
      throw new UsageError(`${name} names an https:// proxy by its IP address`, 'give the host name its certificate is for, or use http:// if the proxy takes plain connections');
    }
  }
}

/** The proxy a request to `target` goes through, or undefined to connect directly. */
export function proxyFor(target: URL | string): URL | undefined {
  const url = typeof target === 'string' ? new URL(target) : target;
  // A proxy's loopback is its own, never this machine's: loopback is always reached directly (docs/reference/proxies.md#loopback).
  if (isLoopback(url) || bypassed(url)) return undefined;
  const proxy = getProxyForUrl(url.href);
  return proxy ? new URL(proxy) : undefined;
}

/**
 * NO_PROXY entries as curl and requests read them where proxy-from-env does not: a bare name also covers the
 * names under it (`site.org` → `xnat.site.org`), and an address range (`10.0.0.0/8`) the IP addresses in it
 * (docs/reference/proxies.md#environment-variables). proxy-from-env still decides everything else.
 */
function bypassed(url: URL): boolean {
  const list = (process.env.no_proxy || process.env.NO_PROXY || '').toLowerCase();
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const family = isIP(host);
  for (const entry of list.split(/[,\s]+/).filter(Boolean)) {
    const range = /^([0-9a-f.:]+)\/(\d{1,3})$/.exec(entry);
    if (range && family !== 0 && isIP(range[1]!) === family) {
      const block = new BlockList();
      block.addSubnet(range[1]!, Number(range[2]), family === 6 ? 'ipv6' : 'ipv4');
      if (block.check(host, family === 6 ? 'ipv6' : 'ipv4')) return true;
      continue;
    }
    const name = /^([a-z0-9.-]+?)(?::(\d+))?$/.exec(entry.replace(/^\*?\.?/, ''));
    if (!name || (name[2] !== undefined && name[2] !== (url.port || defaultPort(url)))) continue;
    if (host === name[1] || host.endsWith(`.${name[1]}`)) return true;
  }
  return false;
}

function defaultPort(url: URL): string {
  return url.protocol === 'https:' ? '443' : '80';
}

/** localhost, 127.0.0.0/8 or ::1. */
export function isLoopback(url: URL): boolean {
  return url.hostname === 'localhost' || url.hostname === '[::1]' || url.hostname.startsWith('127.');
}

/** A proxy as it may be shown: scheme, host and port, never its credentials. */
export function proxyLabel(proxy: URL): string {
  return `${proxy.protocol}//${proxy.host}`;
}

/** The variable a user sets for a target's scheme. */
export function proxyVariable(target: URL): string {
  return target.protocol === 'https:' ? 'HTTPS_PROXY' : 'HTTP_PROXY';
}

/** A proxy's refusal to open a tunnel, with a code the retry table and the messages can use. */
export class ProxyTunnelError extends Error {
  readonly code: string;
  readonly statusCode: number;
  constructor(statusCode: number) {
    super(`the proxy answered ${statusCode} to CONNECT`);
    this.statusCode = statusCode;
    // 502-504: the proxy could not reach the server this time; anything else is its policy or its credentials.
    this.code = statusCode >= 502 && statusCode <= 504 ? 'ERR_PROXY_UPSTREAM' : 'ERR_PROXY_TUNNEL';
  }

  readonly duringProxyConnect = true;
}

/** How long a proxy may take to answer CONNECT, as got allows a server for its TLS handshake (src/xnat/session.ts). */
const CONNECT_TIMEOUT_MS = 30_000;

/** An error of the tunnel's set-up, before any byte reached the server: the proxy's, not the server's. */
export function duringProxyConnect(error: unknown): boolean {
  const own = (error as { duringProxyConnect?: boolean } | undefined)?.duringProxyConnect;
  const cause = ((error as { cause?: unknown } | undefined)?.cause as { duringProxyConnect?: boolean } | undefined)?.duringProxyConnect;
  return own === true || cause === true;
}

/**
 * hpagent's tunnel, reporting a refused CONNECT as a {@link ProxyTunnelError} (hpagent's own is a bare 'Bad
 * response: N') and bounding the wait for the proxy's answer: got's timers start only once the tunnel is up, and
 * hpagent's is off unless asked, so a proxy that never answered held the run forever.
 */
class TunnelAgent extends HttpsProxyAgent {
  constructor(options: HttpsProxyAgentOptions, private readonly connectTimeoutMs: number) {
    super(options);
  }

  override createConnection(options: RequestOptions, callback?: (error: Error | null, socket: Duplex) => void): Duplex | null | undefined {
    return super.createConnection({ ...options, timeout: options.timeout || this.connectTimeoutMs }, (error, socket) => {
      // The timeout was for the CONNECT; the tunnel's socket is timed by got like any other.
      (socket as { setTimeout?: (ms: number) => void } | null)?.setTimeout?.(0);
      const status = /^Bad response: (\d{3})$/.exec(error?.message ?? '');
      if (status) return callback?.(new ProxyTunnelError(Number(status[1])), socket);
      if (error?.message === 'Proxy timeout') Object.assign(error, { code: 'ETIMEDOUT' });
      if (error) Object.assign(error, { duringProxyConnect: true });
      callback?.(error, socket);
    });
  }
}

const tunnels = new Map<string, Agent>();

/** One keep-alive tunnel agent per proxy, so connections through it are reused like direct ones. */
export function tunnelAgent(proxy: URL, connectTimeoutMs = CONNECT_TIMEOUT_MS): Agent {
  const key = `${proxy.href} ${connectTimeoutMs}`;
  let agent = tunnels.get(key);
  if (!agent) {
    agent = new TunnelAgent({ proxy, keepAlive: true }, connectTimeoutMs) as unknown as Agent;
    tunnels.set(key, agent);
  }
  return agent;
}

/** Basic credentials for the proxy itself, from its URL. */
export function proxyAuthorization(proxy: URL): string | undefined {
  if (!proxy.username && !proxy.password) return undefined;
  return `Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64')}`;
}

/** The line for a run's servers: XNAT, TCIA and, unless the run is NBIA-only, IDC's buckets. */
export function describeRunRoutes(xnatHost: string, tciaRoot: string, sources: Pick<SourcesConfig, 'mode' | 'idcEndpoint'>): string | undefined {
  return describeRoutes({ XNAT: xnatHost, TCIA: tciaRoot, IDC: sources.mode === 'nbia' ? undefined : sources.idcEndpoint ?? IDC_S3 });
}

/** One line saying which peers go through which proxy, or undefined when no proxy applies to any of them. */
export function describeRoutes(peers: Record<string, string | undefined>): string | undefined {
  const through = new Map<string, string[]>();
  const direct: string[] = [];
  for (const [peer, base] of Object.entries(peers)) {
    if (!base) continue;
    const proxy = proxyFor(base);
    if (!proxy) direct.push(peer);
    else through.set(proxyLabel(proxy), [...(through.get(proxyLabel(proxy)) ?? []), peer]);
  }
  if (through.size === 0) return undefined;
  const via = [...through].map(([label, names]) => `${names.join(', ')} through the proxy ${label}`);
  return [...via, ...(direct.length > 0 ? [`${direct.join(', ')} directly`] : [])].join('; ');
}
