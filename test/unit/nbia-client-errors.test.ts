import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { PeerAnswerError, TciaHttpError } from '../../src/errors.js';
import { isRetryable, retryAfterOf } from '../../src/retry.js';
import { NbiaClient } from '../../src/tcia/nbia-client.js';

// What the NBIA client makes of an error answer to a series download, over real HTTP on loopback.
let server: Server;
let answer: (res: import('node:http').ServerResponse) => void;

beforeAll(async () => {
  server = createServer((_req, res) => answer(res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});
afterAll(async () => new Promise<void>((resolve) => server.close(() => resolve())));

function client(): NbiaClient {
  const { port } = server.address() as AddressInfo;
  return new NbiaClient({ root: `http://127.0.0.1:${port}`, logger: pino({ level: 'silent' }), stallTimeoutMs: 5000, attempts: 1 });
}

async function failure(): Promise<unknown> {
  return client().openSeries('1.2.3', new AbortController().signal).then(() => undefined, (error: unknown) => error);
}

describe('NBIA series download errors', () => {
  it('carries Retry-After as a typed field of a retryable 429', async () => {
    answer = (res) => res.writeHead(429, { 'retry-after': '7', 'content-type': 'text/plain' }).end('slow down');
    const error = await failure();
    expect(error).toBeInstanceOf(TciaHttpError);
    expect(error).toMatchObject({ status: 429, retryAfterMs: 7000, seriesUid: '1.2.3' });
    expect(retryAfterOf(error)).toBe(7000);
    expect(isRetryable(error)).toBe(true);
  });

  it('does not retry a 400 (no such public series)', async () => {
    answer = (res) => res.writeHead(400, { 'content-type': 'text/plain' }).end('bad');
    const error = await failure();
    expect(error).toMatchObject({ status: 400, message: expect.stringContaining('TCIA has no public series 1.2.3') });
    expect(retryAfterOf(error)).toBeUndefined();
    expect(isRetryable(error)).toBe(false);
  });

  it('calls an HTML page with status 200 a wrong answer, not an HTTP error status, and retries it', async () => {
    answer = (res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Maintenance</body></html>');
    const error = await failure();
    expect(error).toBeInstanceOf(PeerAnswerError);
    expect(error).not.toHaveProperty('status');
    expect(error).toMatchObject({ code: 'ERR_TCIA_ANSWER', message: expect.stringContaining('TCIA sent a text/html page instead of a zip for series 1.2.3: Maintenance') });
    expect(isRetryable(error)).toBe(true);
  });
});

describe('NBIA metadata answers that cannot be read', () => {
  it.each([
    ['v1 getSeriesMetaData that is not JSON', 'v1', (c: NbiaClient) => c.seriesMetadata(['1.2.3']), '<html><body>Maintenance</body></html>', "TCIA's getSeriesMetaData answer could not be read"],
    ['v1 getSeriesMetaData that is not a list', 'v1', (c: NbiaClient) => c.seriesMetadata(['1.2.3']), '{"error":"busy"}', "TCIA's getSeriesMetaData answer could not be read: expected a JSON list"],
    ['v1 getSeriesMetaData without a series UID', 'v1', (c: NbiaClient) => c.seriesMetadata(['1.2.3']), '[{"Series":"1.2.3"}]', "TCIA's getSeriesMetaData answer was not recognised"],
    ['getSOPInstanceUIDs that is not JSON', 'v4', (c: NbiaClient) => c.sopInstanceUids('1.2.3'), 'SOPInstanceUID\n1.2.3.4\n', "TCIA's getSOPInstanceUIDs answer could not be read"],
  ] as const)('%s: a TCIA answer error, not a crash', async (_name, version, call, body, message) => {
    answer = (res) => res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    const c = client();
    c.version = version;
    const error = await call(c).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(PeerAnswerError);
    expect(error).toMatchObject({ code: 'ERR_TCIA_ANSWER', message: expect.stringContaining(message) });
  });
});
