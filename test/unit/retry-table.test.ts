import { AbortedError, ConnectionError, isBug, Md5MismatchError, PeerAnswerError, PrearchiveStateError, reportBug, TciaHttpError, XnatHttpError, XtdError } from '../../src/errors.js';
import { IdcHttpError } from '../../src/sources/idc/errors.js';
import { isRetryable, retryAfterOf } from '../../src/retry.js';
import { isRetryableStatus, isTransportError, retryableStatuses, TRANSPORT_CODES, type Peer } from '../../src/retryable.js';

/** Every status the table is asked about, with the peers that should retry it. */
const EXPECTED: [number, Peer[]][] = [
  [400, []], [401, []], [403, []], [404, []], [409, []], [417, []],
  [408, ['TCIA', 'XNAT', 'IDC']],
  [423, ['XNAT']],
  [429, ['TCIA', 'XNAT', 'IDC']],
  [500, ['TCIA', 'XNAT', 'IDC']], [501, []],
  [502, ['TCIA', 'XNAT', 'IDC']], [503, ['TCIA', 'XNAT', 'IDC']], [504, ['TCIA', 'XNAT', 'IDC']],
];
const PEERS: Peer[] = ['TCIA', 'XNAT', 'IDC'];

function errorFor(peer: Peer, status: number): XtdError {
  if (peer === 'TCIA') return new TciaHttpError(status, 'x');
  if (peer === 'XNAT') return new XnatHttpError(status, 'GET', '/', 'x');
  return new IdcHttpError(status, '', 'x');
}

describe('the retry table', () => {
  for (const [status, peers] of EXPECTED) {
    for (const peer of PEERS) {
      const retried = peers.includes(peer);
      it(`${peer} ${status} is ${retried ? '' : 'not '}retried`, () => {
        expect(isRetryableStatus(peer, status)).toBe(retried);
        expect(retryableStatuses(peer).includes(status)).toBe(retried);
        expect(isRetryable(errorFor(peer, status))).toBe(retried);
      });
    }
  }

  it('lets S3 SlowDown through whatever the status, and a caller overrule the table', () => {
    expect(isRetryable(new IdcHttpError(400, 'SlowDown', 'x'))).toBe(true);
    expect(isRetryable(new IdcHttpError(404, 'NoSuchKey', 'x'))).toBe(false);
    expect(isRetryable(new XnatHttpError(503, 'POST', '/', 'x', { retryable: false }))).toBe(false);
  });

  it.each([...TRANSPORT_CODES])('retries a raw %s from the connection or the stream', (code) => {
    const error = Object.assign(new Error('x'), { code });
    expect(isTransportError(error)).toBe(true);
    expect(isRetryable(error)).toBe(true);
    expect(isBug(error)).toBe(true);
  });

  it('treats any other raw error as a bug: not retried', () => {
    for (const error of [new TypeError("Cannot read properties of undefined (reading 'x')"), new RangeError('x'), Object.assign(new Error('x'), { code: 'ENOENT' }), 'a string', undefined, null]) {
      expect(isTransportError(error)).toBe(false);
      expect(isRetryable(error)).toBe(false);
    }
    expect(isBug(new TypeError('x'))).toBe(true);
  });

  it('keeps our own errors to their own word', () => {
    expect(isRetryable(new Md5MismatchError('a.dcm', '0', '1', '1.2'))).toBe(true);
    expect(isRetryable(new ConnectionError('XNAT', 'ENOTFOUND', 'x'))).toBe(false);
    expect(isRetryable(new PeerAnswerError('TCIA', 'an HTML page', { retryable: true }))).toBe(true);
    expect(isRetryable(new PeerAnswerError('XNAT', 'no session URI'))).toBe(false);
    expect(isRetryable(new AbortedError())).toBe(false);
    expect(isBug(new AbortedError())).toBe(false);
    expect(isBug(Object.assign(new Error('stopped'), { name: 'AbortError' }))).toBe(false);
  });
});

describe('Retry-After', () => {
  it('is a typed field of the peer error, read back without a cast', () => {
    expect(new TciaHttpError(429, 'x', { retryAfterMs: 3000 }).retryAfterMs).toBe(3000);
    expect(retryAfterOf(new TciaHttpError(429, 'x', { retryAfterMs: 3000 }))).toBe(3000);
    expect(retryAfterOf(new XnatHttpError(503, 'GET', '/', 'x', { retryAfterMs: 1000 }))).toBe(1000);
    expect(retryAfterOf(new IdcHttpError(503, 'SlowDown', 'x', { retryAfterMs: 2000 }))).toBe(2000);
    expect(retryAfterOf(new TciaHttpError(503, 'x'))).toBeUndefined();
    expect(retryAfterOf(Object.assign(new Error('x'), { retryAfterMs: 5 }))).toBeUndefined();
  });
});

describe('reportBug', () => {
  function logger(): { lines: { obj: Record<string, unknown>; msg: string }[]; error: (obj: Record<string, unknown>, msg: string) => void } {
    const lines: { obj: Record<string, unknown>; msg: string }[] = [];
    return { lines, error: (obj, msg) => lines.push({ obj, msg }) };
  }

  it('logs a bug with its stack at error level and answers exit code 1', () => {
    const log = logger();
    const bug = new TypeError('x is not a function');
    expect(reportBug(bug, log as never)).toBe(1);
    expect(log.lines).toHaveLength(1);
    expect(log.lines[0]!.msg).toContain('x is not a function');
    expect(log.lines[0]!.obj.stack).toBe(bug.stack);
    // The readable line carries the stack too: in a container launch it may be the only trace a person can reach.
    expect(log.lines[0]!.msg).toContain(bug.stack!);
  });

  it('leaves our own errors and stops alone', () => {
    const log = logger();
    expect(reportBug(new XnatHttpError(500, 'GET', '/', 'x'), log as never)).toBeUndefined();
    expect(reportBug(new AbortedError(), log as never)).toBeUndefined();
    expect(log.lines).toHaveLength(0);
  });
});

describe('a prearchive state', () => {
  it('is its own error, with no invented HTTP status, and not retried', () => {
    const error = new PrearchiveStateError('/data/prearchive/projects/P/1/S', 'CONFLICT');
    expect(error).toMatchObject({ code: 'ERR_XNAT_PREARCHIVE_STATE', state: 'CONFLICT', message: 'XNAT could not archive /data/prearchive/projects/P/1/S: prearchive status CONFLICT' });
    expect('status' in error).toBe(false);
    expect(isRetryable(error)).toBe(false);
  });
});
