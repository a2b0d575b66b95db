import { XMLParser, type X2jOptions } from 'fast-xml-parser';
import { PeerHttpError, XtdError, type PeerHttpErrorOptions, type XtdErrorOptions } from '../../errors.js';
import { isRetryableStatus, NEW_ATTEMPT_S3_CODES, RETRYABLE_S3_CODES } from '../../retryable.js';

/** An error answer from an IDC bucket or the index host, with S3's own code when it sent one. */
export class IdcHttpError extends PeerHttpError {
  /** S3's `<Code>`, e.g. NoSuchKey, SlowDown; '' when the body was not S3 XML. */
  readonly s3Code: string;

  constructor(status: number, s3Code: string, message: string, options: PeerHttpErrorOptions = {}) {
    const again = isRetryableStatus('IDC', status) || RETRYABLE_S3_CODES.has(s3Code);
    const afresh = !again && (NEW_ATTEMPT_S3_CODES.has(s3Code) || status === 412);
    super('IDC', status, 'ERR_IDC_HTTP', message, { retryable: again || afresh, onlyOnNewAttempt: afresh, ...options });
    this.s3Code = s3Code;
  }
}

/** An object's bytes disagree with its listing: wrong length, or an MD5 that is not its ETag. Retried whole. */
export class IdcVerifyError extends XtdError {
  constructor(message: string, options: XtdErrorOptions = {}) {
    super('ERR_IDC_VERIFY', message, { retryable: true, ...options });
  }
}

/**
 * A parser for S3's XML answers. XML requires numeric character references to be decoded, and Go's encoding/xml
 * (MinIO, SeaweedFS) writes an ETag's quotes as `&#34;`, not AWS's `&quot;` (docs/reference/idc.md#buckets);
 * fast-xml-parser decodes them only with `htmlEntities`. A reference decodes to one character, so this adds no
 * expansion; DOCTYPE entities stay under the parser's own limits, and S3 never sends a DOCTYPE.
 */
export function s3XmlParser(options: X2jOptions = {}): XMLParser {
  return new XMLParser({ parseTagValue: false, ignoreAttributes: true, htmlEntities: true, ...options });
}

const parser = s3XmlParser();

/** The `<Error>` document S3 sends with a failed request (docs/reference/idc.md#errors); undefined if it is not one. */
export function parseS3Error(body: string): { code: string; message: string } | undefined {
  if (!body.includes('<Error')) return undefined;
  try {
    const doc = parser.parse(body) as { Error?: { Code?: string; Message?: string } };
    return doc.Error?.Code ? { code: doc.Error.Code, message: doc.Error.Message ?? '' } : undefined;
  } catch {
    return undefined;
  }
}

/** Builds the error for a non-2xx answer; `what` names the request ("listing <uuid>/", "object <key>"). */
export function idcHttpError(status: number, body: string, what: string, retryAfterMs?: number): IdcHttpError {
  const s3 = parseS3Error(body);
  const detail = s3 ? `${s3.code}${s3.message ? `: ${s3.message}` : ''}` : body.replace(/\s+/g, ' ').trim().slice(0, 200);
  return new IdcHttpError(status, s3?.code ?? '', `IDC ${what} answered ${status}${detail ? ` (${detail})` : ''}`, { retryAfterMs });
}
