/**
 * A proxy that fails while a tunnel is being set up, met through the tunnel agent as got meets it: a proxy that
 * accepts and never answers CONNECT (got's own timers start only once the tunnel is up, so this once held a run
 * forever), and one that hangs up. Each ends in an error named as the proxy's, worth another attempt.
 */
import { request } from 'node:https';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { translateNetworkError } from '../../src/network-errors.js';
import { tunnelAgent } from '../../src/proxy.js';

let server: Server;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => server.close(resolve));
  delete process.env.HTTPS_PROXY;
});

async function proxyThat(onConnection: (socket: Socket) => void): Promise<URL> {
  server = createServer((socket) => {
    sockets.push(socket);
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const proxy = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  process.env.HTTPS_PROXY = proxy.href;
  return proxy;
}

function throughTunnel(proxy: URL, connectTimeoutMs: number): Promise<Error> {
  return new Promise((resolve, reject) => {
    const req = request('https://xnat.example.org/data/JSESSION', { agent: tunnelAgent(proxy, connectTimeoutMs) }, () => reject(new Error('answered')));
    req.on('error', resolve);
    req.end();
  });
}

it('a proxy that never answers CONNECT times out, and is named as the one that did not answer', async () => {
  const proxy = await proxyThat(() => undefined);
  const error = await throughTunnel(proxy, 300);
  expect((error as NodeJS.ErrnoException).code).toBe('ETIMEDOUT');
  const told = translateNetworkError(error, 'XNAT', 'https://xnat.example.org');
  expect(told.message).toBe(`the proxy ${proxy.origin} did not answer (timed out) when asked for XNAT at xnat.example.org`);
  expect((told as { retryable?: boolean }).retryable).toBe(true);
});

it('a proxy that hangs up on CONNECT is named as the one that closed the connection', async () => {
  const proxy = await proxyThat((socket) => socket.once('data', () => socket.destroy()));
  const error = await throughTunnel(proxy, 5_000);
  const told = translateNetworkError(error, 'XNAT', 'https://xnat.example.org');
  expect(told.message).toMatch(new RegExp(`^the proxy ${proxy.origin} closed the connection when asked for XNAT at xnat\\.example\\.org \\((ECONNRESET|EPIPE)\\)$`));
});
