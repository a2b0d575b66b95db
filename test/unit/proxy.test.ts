import { checkProxyEnvironment, describeRoutes, proxyFor } from '../../src/proxy.js';

const NAMES = ['https_proxy', 'HTTPS_PROXY', 'http_proxy', 'HTTP_PROXY', 'all_proxy', 'ALL_PROXY', 'no_proxy', 'NO_PROXY'];
const saved = Object.fromEntries(NAMES.map((name) => [name, process.env[name]]));
afterEach(() => {
  for (const name of NAMES) {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
});
function environment(values: Record<string, string>): void {
  for (const name of NAMES) delete process.env[name];
  Object.assign(process.env, values);
}
const via = (url: string): string | undefined => proxyFor(url)?.href;

describe('the proxy for a URL', () => {
  it('takes the variable of the URL\'s scheme, lower case first, then ALL_PROXY', () => {
    environment({ HTTPS_PROXY: 'http://upper:3128', https_proxy: 'http://lower:3128', ALL_PROXY: 'http://all:8080' });
    expect(via('https://nbia.cancerimagingarchive.net/nbia-api')).toBe('http://lower:3128/');
    expect(via('http://xnat.example.org')).toBe('http://all:8080/');
    environment({ HTTPS_PROXY: 'http://only-https:3128' });
    expect(via('http://xnat.example.org')).toBeUndefined();
  });

  it('reaches NO_PROXY hosts directly, by name, by domain and by port', () => {
    environment({ HTTPS_PROXY: 'http://proxy:3128', NO_PROXY: 'xnat.site.org, .internal *.lab.org,idc.example:8443' });
    expect(via('https://xnat.site.org/data')).toBeUndefined();
    expect(via('https://pacs.internal')).toBeUndefined();
    expect(via('https://a.b.lab.org')).toBeUndefined();
    expect(via('https://idc.example:8443')).toBeUndefined();
    expect(via('https://idc.example')).toBe('http://proxy:3128/');
    expect(via('https://other.site.org')).toBe('http://proxy:3128/');
    environment({ HTTPS_PROXY: 'http://proxy:3128', no_proxy: '*' });
    expect(via('https://anything.org')).toBeUndefined();
  });

  it('reads NO_PROXY as curl and requests do: a bare name covers the names under it, a range its addresses', () => {
    environment({ HTTPS_PROXY: 'http://proxy:3128', NO_PROXY: 'site.org,10.0.0.0/8, fd00::/8' });
    expect(via('https://xnat.site.org')).toBeUndefined();
    expect(via('https://site.org')).toBeUndefined();
    expect(via('https://10.1.2.3:8443')).toBeUndefined();
    expect(via('https://[fd00::5]')).toBeUndefined();
    expect(via('https://notsite.org')).toBe('http://proxy:3128/');
    expect(via('https://11.1.2.3')).toBe('http://proxy:3128/');
  });

  it('never sends loopback through a proxy, whatever NO_PROXY says', () => {
    environment({ HTTPS_PROXY: 'http://proxy:3128', HTTP_PROXY: 'http://proxy:3128' });
    for (const url of ['http://localhost:8080', 'https://127.0.0.1', 'http://127.1.2.3:80', 'http://[::1]:8080']) expect(via(url)).toBeUndefined();
    expect(via('http://10.0.0.5')).toBe('http://proxy:3128/');
  });
});

describe('checking the proxy variables before the first request', () => {
  it('accepts http(s) proxy URLs, and empty values', () => {
    environment({ HTTPS_PROXY: 'https://user:p%40ss@proxy:443', http_proxy: 'HTTP://proxy.example:3128', ALL_PROXY: ' ' });
    expect(() => checkProxyEnvironment()).not.toThrow();
  });

  it.each([
    ['HTTPS_PROXY', 'socks5://user:secret@proxy:1080'],
    ['http_proxy', 'http://'],
    ['ALL_PROXY', 'http://proxy:notaport'],
    // curl and requests read a bare host:port as http://, proxy-from-env with the request's scheme: never guessed.
    ['https_proxy', 'proxy.example:3128'],
  ])('refuses %s=%s, naming the variable and not its value', (name, value) => {
    environment({ [name]: value });
    expect(() => checkProxyEnvironment()).toThrow(`${name} is not an http(s) proxy URL with its scheme`);
    try {
      checkProxyEnvironment();
    } catch (error) {
      expect(`${(error as Error).message} ${(error as { hint?: string }).hint}`).not.toContain('secret');
    }
  });
});

describe('an https:// proxy named by its address', () => {
  it('is refused: TLS names the proxy by host name, and Node 26 refuses an address there', () => {
    for (const proxy of ['https://10.0.0.1:3129', 'https://[fd00::1]:3129']) {
      environment({ HTTPS_PROXY: proxy });
      expect(() => checkProxyEnvironment()).toThrow('HTTPS_PROXY names an https:// proxy by its IP address');
    }
    environment({ HTTPS_PROXY: 'http://10.0.0.1:3128' });
    expect(() => checkProxyEnvironment()).not.toThrow();
  });
});

describe('the line that says which servers go through which proxy', () => {
  it('names each proxy without its credentials, and the servers reached directly', () => {
    environment({ HTTPS_PROXY: 'http://someone:secret@proxy.site:3128', NO_PROXY: '.site' });
    expect(describeRoutes({ XNAT: 'https://xnat.site', TCIA: 'https://nbia.cancerimagingarchive.net', IDC: 'https://s3.amazonaws.com' }))
      .toBe('TCIA, IDC through the proxy http://proxy.site:3128; XNAT directly');
    environment({});
    expect(describeRoutes({ XNAT: 'https://xnat.site', TCIA: 'https://nbia.cancerimagingarchive.net' })).toBeUndefined();
  });
});
