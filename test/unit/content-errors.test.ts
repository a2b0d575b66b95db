// Which download failures a series is retried for, and which are bugs (issue 11: unknown errors are not retried).
import { SeriesContentError, ZipFormatError } from '../../src/errors.js';
import { isRetryable } from '../../src/retry.js';
import { asContentError } from '../../src/transfer/verification.js';
import { checkedAgainst } from '../../src/transfer/transfer-series.js';

const UID = '1.2.3';

describe('asContentError', () => {
  it('turns a reset, a stall and a zip that does not parse into retryable content errors of the series', () => {
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    const stall = Object.assign(new Error('Timeout awaiting socket'), { code: 'ETIMEDOUT' });
    const broken = new ZipFormatError('the TCIA zip does not parse: invalid signature');
    for (const error of [reset, stall, broken]) {
      const mapped = asContentError(error, UID);
      expect(mapped).toBeInstanceOf(SeriesContentError);
      expect(isRetryable(mapped)).toBe(true);
    }
    expect((asContentError(stall, UID) as Error).message).toMatch(/stalled/);
  });

  it('passes a programming bug through unchanged, and it is never retried', () => {
    const bug = new TypeError("Cannot read properties of undefined (reading 'length')");
    expect(asContentError(bug, UID)).toBe(bug);
    expect(isRetryable(bug)).toBe(false);
  });
});

describe('what a verified file with an unreadable header was matched against', () => {
  it('names the check the source really made: TCIA MD5, or IDC ETag MD5 and TCIA MD5 where the ETag is not one', () => {
    expect(checkedAgainst({ source: 'nbia' })).toBe("TCIA's MD5");
    expect(checkedAgainst({ source: 'idc' })).toBe("IDC's MD5 (its ETag), or TCIA's where the ETag is not one");
  });
});
