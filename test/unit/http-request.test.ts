import { EventEmitter } from 'node:events';
import type { ClientRequest } from 'node:http';
import { createServer } from 'node:net';
import { baseHttp, reportingFailureOnce } from '../../src/http-request.js';
import { USER_AGENT } from '../../src/version.js';

type Callback = (error?: Error | null) => void;

/** A request as Node 24.20+/26.7+ treats one whose connection is refused: 'error', then the queued callbacks fail too. */
function refusedRequest(): { request: ClientRequest; refuse: () => void } {
  const pending: Callback[] = [];
  const fake = new EventEmitter() as unknown as ClientRequest & { write: (...a: unknown[]) => boolean; end: (...a: unknown[]) => unknown };
  fake.write = (...args: unknown[]) => {
    pending.push(args.find((a) => typeof a === 'function') as Callback);
    return false;
  };
  fake.end = (...args: unknown[]) => {
    pending.push(args.find((a) => typeof a === 'function') as Callback);
    return fake;
  };
  const refuse = () => {
    fake.emit('error', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }));
    for (const done of pending) done(Object.assign(new Error('Socket closed before the connection was established'), { code: 'ERR_SOCKET_CLOSED_BEFORE_CONNECTION' }));
  };
  return { request: fake, refuse };
}

describe('a request whose connection fails', () => {
  it("reports it once, through 'error': the late callback report of newer Node is dropped", () => {
    const { request, refuse } = refusedRequest();
    const wrapped = reportingFailureOnce(request);
    const seen: string[] = [];
    wrapped.on('error', (error: NodeJS.ErrnoException) => seen.push(`error ${error.code}`));
    wrapped.write('body', 'utf8', (error) => seen.push(`write ${String((error as NodeJS.ErrnoException | null | undefined)?.code)}`));
    wrapped.end(() => seen.push('end'));
    refuse();
    expect(seen).toEqual(['error ECONNREFUSED']);
  });

  it('passes every other callback report on: the same code with no error before it, and other codes', () => {
    const codes: unknown[] = [];
    const fake = new EventEmitter() as unknown as ClientRequest;
    let queued: Callback[] = [];
    Object.assign(fake, { write: (_c: unknown, done: Callback) => queued.push(done), end: (done: Callback) => queued.push(done) });
    const wrapped = reportingFailureOnce(fake);
    wrapped.on('error', () => undefined);
    wrapped.end((error?: Error | null) => codes.push((error as NodeJS.ErrnoException | undefined)?.code));
    queued[0]!(Object.assign(new Error('closed'), { code: 'ERR_SOCKET_CLOSED_BEFORE_CONNECTION' }));
    queued = [];
    fake.emit('error', new Error('reset'));
    wrapped.write('x', (error?: Error | null) => codes.push((error as NodeJS.ErrnoException | undefined)?.code));
    queued[0]!(Object.assign(new Error('epipe'), { code: 'EPIPE' }));
    queued[0]!(null);
    expect(codes).toEqual(['ERR_SOCKET_CLOSED_BEFORE_CONNECTION', 'EPIPE', undefined]);
  });
});

describe('baseHttp', () => {
  it('retries a refused connection and reports ECONNREFUSED, on every Node this runs on', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const retries: number[] = [];
    const failure = await baseHttp(`http://127.0.0.1:${port}/`, {
      retry: { limit: 2, calculateDelay: ({ computedValue }) => (computedValue ? 5 : 0) },
      hooks: { beforeRetry: [(_error, count) => void retries.push(count)] },
    }).catch((error: unknown) => error);
    expect(failure).toMatchObject({ name: 'RequestError', code: 'ECONNREFUSED' });
    expect(retries).toEqual([1, 2]);
  });

  it('sends our User-Agent', async () => {
    const { createServer: createHttpServer } = await import('node:http');
    let agent: string | undefined;
    const server = createHttpServer((req, res) => {
      agent = req.headers['user-agent'];
      res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    try {
      expect((await baseHttp(`http://127.0.0.1:${port}/`)).body).toBe('ok');
      expect(agent).toBe(USER_AGENT);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
