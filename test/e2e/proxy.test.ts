import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createProxy } from 'proxy';
import { tempDir, writeTciaManifest } from '../support/run-cli.js';
import { selfSignedCertificate, startTlsProxy } from '../support/tls-proxy.js';
import { expectArchivedAsServed, FAST, PASSWORD, startWorld, type World } from '../support/world.js';

/**
 * A site's outgoing proxy, as the tool meets one: a real HTTP proxy (npm `proxy`: CONNECT tunnels and
 * absolute-URI requests) that asks for Basic credentials. The servers behind it have names only the proxy knows
 * (`*.test`, mapped to this machine as it forwards), so nothing can reach them but through it.
 */
interface SiteProxy {
  url: string;
  /** `METHOD target` of every request the proxy let through. */
  seen: string[];
  close(): Promise<void>;
}

const PROXY_USER = 'proxy-user';
const PROXY_SECRET = 'Pr0xy-secret!';

async function startSiteProxy(tls?: { key: string; cert: string }): Promise<SiteProxy> {
  const seen: string[] = [];
  const server = createProxy(tls ? createTlsServer(tls) : createServer()) as Server & { authenticate?: (req: IncomingMessage) => boolean };
  server.authenticate = (req) => {
    const expected = `Basic ${Buffer.from(`${PROXY_USER}:${PROXY_SECRET}`).toString('base64')}`;
    if (req.headers['proxy-authorization'] !== expected) return false;
    seen.push(`${req.method} ${req.url}`);
    req.url = req.url?.replace(/[a-z]+\.test(?=:)/, '127.0.0.1');
    return true;
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    // Named by host name over TLS, as a certificate names it.
    url: `${tls ? 'https://localhost' : 'http://127.0.0.1'}:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

const UIDS = ['1.3.6.1.4.1.14519.5.2.1.9.1', '1.3.6.1.4.1.14519.5.2.1.9.2'];
let world: World | undefined;
let proxy: SiteProxy | undefined;
let closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await world?.close();
  await proxy?.close();
  for (const close of closers) await close();
  world = proxy = undefined;
  closers = [];
});

/** The world's TCIA behind TLS as `tcia.test`, its XNAT as `xnat.test`, both reachable only through the proxy. */
async function behindProxy(options: { tlsProxy?: boolean } = {}): Promise<{ env: Record<string, string>; tciaHost: string; xnatHost: string }> {
  world = await startWorld({ xnat: { projects: [{ id: 'PROXIED', owners: ['admin'] }] } });
  const certs = selfSignedCertificate(await tempDir('xtd-tls-'), ['tcia.test', 'localhost']);
  proxy = await startSiteProxy(options.tlsProxy ? certs : undefined);
  const tls = await startTlsProxy(world.nbia.url, certs);
  closers.push(tls.close);
  const tciaHost = `tcia.test:${new URL(tls.url).port}`;
  const xnatHost = `xnat.test:${new URL(world.xnat.url).port}`;
  const withCredentials = proxy.url.replace('://', `://${PROXY_USER}:${encodeURIComponent(PROXY_SECRET)}@`);
  return {
    tciaHost,
    xnatHost,
    env: { TCIA_URL: `https://${tciaHost}`, XNAT_HOST: `http://${xnatHost}`, HTTPS_PROXY: withCredentials, http_proxy: withCredentials, NODE_EXTRA_CA_CERTS: certs.certPath },
  };
}

describe('an outgoing proxy from the environment (HTTPS_PROXY, HTTP_PROXY, NO_PROXY)', () => {
  it('imports through it: TCIA over https in a tunnel, XNAT over http, the proxy credentials from its URL and shown nowhere', async () => {
    const { env, tciaHost, xnatHost } = await behindProxy();
    const manifest = await writeTciaManifest(world!.out, 'proxied.tcia', UIDS);
    const result = await world!.run(['import', manifest, '--project', 'PROXIED', '--output-dir', world!.out, ...FAST], { env });

    expect(result.exitCode).toBe(0);
    expectArchivedAsServed(world!, 'PROXIED', UIDS);
    expect(proxy!.seen).toContain(`CONNECT ${tciaHost}`);
    expect(proxy!.seen.some((line) => line.startsWith(`POST http://${xnatHost}/data/services/import`))).toBe(true);
    expect(result.stdout).toContain(`XNAT, TCIA through the proxy ${proxy!.url}`);
    const check = await world!.run(['check', '--project', 'PROXIED', '--source', 'nbia', '--output-dir', world!.out], { env });
    expect(check.stdout).toContain(`  XNAT, TCIA through the proxy ${proxy!.url}\n`);
    expect(check.exitCode).toBe(0);

    const runLog = await readFile(join(world!.out, 'latest', 'run.log.jsonl'), 'utf8');
    const texts = [result.stdout, result.stderr, check.stdout, check.stderr, runLog, await readFile(join(world!.out, 'latest', 'report.json'), 'utf8')];
    for (const resource of ['MANIFEST_ORIGINAL', 'MANIFEST_MODIFIED', 'TCIA_IMPORT_LOGS']) {
      for (const bytes of world!.xnat.projectResource('PROXIED', resource)?.values() ?? []) texts.push(bytes.toString('latin1'));
    }
    for (const text of texts) {
      expect(text).not.toContain(PROXY_SECRET);
      expect(text).not.toContain(encodeURIComponent(PROXY_SECRET));
      expect(text).not.toContain(PASSWORD);
    }
  });

  it('goes through an https:// proxy too: its certificate checked against its own name, not the server\'s', async () => {
    const { env, tciaHost, xnatHost } = await behindProxy({ tlsProxy: true });
    const manifest = await writeTciaManifest(world!.out, 'tls-proxy.tcia', UIDS.slice(0, 1));
    const result = await world!.run(['import', manifest, '--project', 'PROXIED', '--output-dir', world!.out, ...FAST], { env });
    expect(result.exitCode).toBe(0);
    expectArchivedAsServed(world!, 'PROXIED', UIDS.slice(0, 1));
    expect(proxy!.seen).toContain(`CONNECT ${tciaHost}`);
    expect(proxy!.seen.some((line) => line.startsWith(`POST http://${xnatHost}/data/services/import`))).toBe(true);
  });

  it('reaches the hosts NO_PROXY lists, and loopback, directly', async () => {
    const { env } = await behindProxy();
    const manifest = await writeTciaManifest(world!.out, 'direct.tcia', UIDS.slice(0, 1));
    // Loopback never goes through a proxy; NO_PROXY takes the rest (here a name this machine cannot resolve, so a
    // direct connection can only fail, and fails as the server's, not the proxy's).
    const loopback = await world!.run(['import', manifest, '--project', 'PROXIED', '--output-dir', world!.out, ...FAST],
      { env: { ...env, XNAT_HOST: world!.xnat.url, TCIA_URL: world!.nbia.url } });
    expect(loopback.exitCode).toBe(0);
    expect(proxy!.seen).toEqual([]);
    expect(loopback.stdout).not.toContain('through the proxy');

    const bypassed = await world!.run(['import', manifest, '--project', 'PROXIED', '--output-dir', world!.out, ...FAST],
      { env: { ...env, NO_PROXY: '.test' } });
    expect(bypassed.exitCode).toBe(2);
    expect(bypassed.stdout).toMatch(/cannot resolve XNAT host xnat\.test:\d+/);
    expect(proxy!.seen).toEqual([]);
  });

  it('says which proxy failed and how: refused credentials, a proxy that is not there, a variable that is not a URL', async () => {
    const { env, xnatHost } = await behindProxy();
    const manifest = await writeTciaManifest(world!.out, 'refused.tcia', UIDS.slice(0, 1));
    const run = (extra: Record<string, string>) => world!.run(['import', manifest, '--project', 'PROXIED', '--output-dir', world!.out, '--attempts', '1', ...FAST], { env: { ...env, ...extra } });

    // XNAT over https through the tunnel, with the wrong proxy password.
    const wrong = proxy!.url.replace('http://', `http://${PROXY_USER}:not-it@`);
    const refused = await run({ XNAT_HOST: `https://${xnatHost}`, HTTPS_PROXY: wrong });
    expect(refused.exitCode).toBe(2);
    expect(refused.stdout).toContain(`the proxy ${proxy!.url} asks for credentials (407) to reach XNAT at ${xnatHost}`);
    expect(refused.stdout).toContain('give them in HTTPS_PROXY');

    // Over plain http the proxy answers 407 in XNAT's place: still the proxy's refusal, not XNAT's.
    const plain = await run({ http_proxy: wrong });
    expect(plain.exitCode).toBe(2);
    expect(plain.stdout).toContain(`the proxy ${proxy!.url} asks for credentials (407) to reach XNAT at ${xnatHost}`);
    expect(plain.stdout).toContain('give them in HTTP_PROXY');

    const absent = await run({ XNAT_HOST: `https://${xnatHost}`, HTTPS_PROXY: 'http://127.0.0.1:9' });
    expect(absent.exitCode).toBe(2);
    expect(absent.stdout).toContain(`cannot connect to the proxy http://127.0.0.1:9 for XNAT at ${xnatHost} (ECONNREFUSED)`);

    const socks = await run({ HTTPS_PROXY: `socks5://${PROXY_USER}:${PROXY_SECRET}@127.0.0.1:1080` });
    expect(socks.exitCode).toBe(2);
    expect(socks.stderr).toContain('HTTPS_PROXY is not an http(s) proxy URL with its scheme');
    for (const result of [refused, plain, absent, socks]) expect(`${result.stdout}${result.stderr}`).not.toContain('not-it');
    expect(`${socks.stdout}${socks.stderr}`).not.toContain(PROXY_SECRET);
    expect(proxy!.seen).toEqual([]);
    expect(world!.xnat.requests).toEqual([]);
  });
});
