import { UsageError } from '../../src/errors.js';
import { resolveConfig } from '../../src/config.js';
import { resolveTciaRoot } from '../../src/tcia/server-url.js';

const env = { XNAT_HOST: 'xnat.example.org', XNAT_USER: 'u', XNAT_PASS: 'p' };

describe('resolveConfig', () => {
  it('takes credentials from the environment, assumes HTTPS and freezes the result', () => {
    const config = resolveConfig({ manifest: 'm.tcia', project: 'P1' }, env);
    expect(config.xnat).toEqual({ host: 'https://xnat.example.org', user: 'u', pass: 'p', insecure: false });
    expect(config.concurrency).toBe(4);
    expect(Object.isFrozen(config)).toBe(true);
  });
  it('lets flags win over the environment and warns about plain HTTP to another host', () => {
    const config = resolveConfig({ manifest: 'm', project: 'P1', xnatHost: 'http://xnat.example.org/', xnatUser: 'flag' }, env);
    expect(config.xnat.host).toBe('http://xnat.example.org');
    expect(config.xnat.user).toBe('flag');
    expect(config.warnings.join()).toMatch(/plain HTTP/);
    expect(resolveConfig({ manifest: 'm', project: 'P', xnatHost: 'http://127.0.0.1:8080' }, env).warnings).toEqual([]);
  });
  it.each([
    [{ project: '' }, /no target project/],
    [{ project: 'has space' }, /not valid/],
    [{ project: 'P', concurrency: 0 }, /--concurrency/],
    [{ project: 'P', xnatHost: 'https://user:pw@x.org' }, /holds '@': credentials do not belong in it/],
    [{ project: 'P', logLevel: 'loud' }, /--log-level/],
  ])('refuses %j', (raw, message) => {
    expect(() => resolveConfig({ manifest: 'm', ...raw }, env)).toThrow(UsageError);
    expect(() => resolveConfig({ manifest: 'm', ...raw }, env)).toThrow(message);
  });
});

describe('resolveTciaRoot', () => {
  it('maps old public./services. manifest hosts to nbia., keeps nlst., and prefers an explicit root', () => {
    expect(resolveTciaRoot(undefined, 'https://public.cancerimagingarchive.net/nbia-download/servlet/DownloadServlet')).toBe('https://nbia.cancerimagingarchive.net');
    expect(resolveTciaRoot(undefined, 'https://nlst.cancerimagingarchive.net/nbia-download/servlet/DownloadServlet')).toBe('https://nlst.cancerimagingarchive.net');
    expect(resolveTciaRoot(undefined, undefined)).toBe('https://nbia.cancerimagingarchive.net');
    expect(resolveTciaRoot('http://127.0.0.1:9', 'https://nlst.cancerimagingarchive.net/x')).toBe('http://127.0.0.1:9');
  });
});
