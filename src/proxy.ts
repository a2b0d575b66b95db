import type { Agent, RequestOptions } from 'node:http';
import type { Duplex } from 'node:stream';
import { HttpsProxyAgent, type HttpsProxyAgentOptions } from 'hpagent';
import { getProxyForUrl } from 'proxy-from-env';
import { UsageError } from './errors.js';

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
  }
}

/** The proxy a request to `target` goes through, or undefined to connect directly. */
export function proxyFor(target: URL | string): URL | undefined {
  const url = typeof target === 'string' ? new URL(target) : target;
  // A proxy's loopback is its own, never this machine's: loopback is always reached directly (docs/reference/proxies.md#loopback).
  if (isLoopback(url)) return undefined;
  const proxy = getProxyForUrl(url.href);
  return proxy ? new URL(proxy) : undefined;
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
}

/** hpagent's tunnel, reporting a refused CONNECT as a {@link ProxyTunnelError}: hpagent's own is a bare 'Bad response: N'. */
class TunnelAgent extends HttpsProxyAgent {
  override createConnection(options: RequestOptions, callback?: (error: Error | null, socket: Duplex) => void): Duplex | null | undefined {
    return super.createConnection(options, (error, socket) => {
      const status = /^Bad response: (\d{3})$/.exec(error?.message ?? '');
      callback?.(status ? new ProxyTunnelError(Number(status[1])) : error, socket);
    });
  }
}

const tunnels = new Map<string, Agent>();

/** One keep-alive tunnel agent per proxy, so connections through it are reused like direct ones. */
export function tunnelAgent(proxy: URL): Agent {
  let agent = tunnels.get(proxy.href);
  if (!agent) {
    const options: HttpsProxyAgentOptions = { proxy, keepAlive: true };
    agent = new TunnelAgent(options) as unknown as Agent;
    tunnels.set(proxy.href, agent);
  }
  return agent;
}

/** Basic credentials for the proxy itself, from its URL. */
export function proxyAuthorization(proxy: URL): string | undefined {
  if (!proxy.username && !proxy.password) return undefined;
  return `Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64')}`;
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
