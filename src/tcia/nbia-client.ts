import type { Readable } from 'node:stream';
import type { Got, Response } from 'got';
import { baseHttp } from '../http-request.js';
import { parseString } from 'fast-csv';
import { PeerAnswerError, TciaHttpError } from '../errors.js';
import type { Logger } from '../log.js';
import { DEFAULT_RETRY, parseRetryAfter, withRetries, type RetryPolicy } from '../retry.js';
import { retryableStatuses } from '../retryable.js';
import { fromMetadataRow, type SeriesMetadata } from './series-metadata.js';
import { fullWidth } from './published-md5.js';
import { translateNetworkError } from '../network-errors.js';
import { forEachLimit } from '../concurrency.js';
import { readStart } from '../sources/stream-chunks.js';

export interface NbiaClientOptions {
  /** Server root, scheme://host[:port]; the API lives under /nbia-api/services/ (docs/reference/nbia.md#servers). */
  root: string;
  logger: Logger;
  /** Idle time after which a silent download counts as stalled. */
  stallTimeoutMs: number;
  /** Attempts for metadata calls (downloads are retried per series by the caller). */
  attempts: number;
  insecure?: boolean;
}

export type ApiVersion = 'v4' | 'v1';

/** How many UIDs go in one v4 metadata POST; NBIA's own client sends up to 10,000. */
const METADATA_BATCH = 2000;

/** A small typed client for the NBIA REST API: series metadata and the series zip stream. */
export class NbiaClient {
  private readonly http: Got;
  private readonly options: NbiaClientOptions;
  /** v4 unless the server turns out not to have it. */
  version: ApiVersion = 'v4';

  constructor(options: NbiaClientOptions) {
    this.options = options;
    this.http = baseHttp.extend({
      prefixUrl: `${options.root}/nbia-api/services`,
      timeout: { connect: 30_000, secureConnect: 30_000, socket: options.stallTimeoutMs },
      https: { rejectUnauthorized: !options.insecure },
      retry: {
        limit: Math.max(0, options.attempts - 1),
        // Metadata POSTs only read, so retrying them is safe.
        methods: ['GET', 'POST'],
        statusCodes: retryableStatuses('TCIA'),
        calculateDelay: ({ computedValue }) => computedValue,
      },
      throwHttpErrors: false,
    });
  }

  /** Metadata for every UID NBIA knows; unknown UIDs are simply absent from the map. */
  async seriesMetadata(uids: string[], onProgress?: (done: number, total: number) => void): Promise<Map<string, SeriesMetadata>> {
    const result = new Map<string, SeriesMetadata>();
    const batches: string[][] = [];
    for (let i = 0; i < uids.length; i += METADATA_BATCH) batches.push(uids.slice(i, i + METADATA_BATCH));
    let done = 0;
    await forEachLimit(batches, 3, async (batch) => {
      for (const meta of await this.metadataBatch(batch)) result.set(meta.seriesUid, meta);
      done += batch.length;
      onProgress?.(done, uids.length);
    });
    return result;
  }

  private async metadataBatch(uids: string[]): Promise<SeriesMetadata[]> {
    if (this.version === 'v4') {
      const response = await this.call(() => this.http.post('v4/getSeriesMetadata', { form: { list: uids.join(',') } }));
      if (response.statusCode === 200) return parseV4Csv(response.body);
      if (![404, 405, 501].includes(response.statusCode)) throw httpError('getSeriesMetadata', response);
      this.options.logger.warn({ status: response.statusCode }, 'TCIA has no v4 API here; using v1');
      this.version = 'v1';
    }
    const rows: SeriesMetadata[] = [];
    await forEachLimit(uids, 8, async (uid) => {
      const response = await this.call(() => this.http.get('v1/getSeriesMetaData', { searchParams: { SeriesInstanceUID: uid } }));
      // v1 answers 204 for an unknown series (docs/reference/nbia.md#series-metadata-v1).
      if (response.statusCode === 204 || response.body.trim() === '') return;
      if (response.statusCode !== 200) throw httpError('getSeriesMetaData', response);
      rows.push(...describedSeries('getSeriesMetaData', parseJsonRows<Record<string, unknown>>('getSeriesMetaData', response.body)));
    });
    return rows;
  }

  /** The series' SOPInstanceUIDs as NBIA lists them; [] when it lists none (docs/reference/nbia.md#single-files). */
  async sopInstanceUids(seriesUid: string): Promise<string[]> {
    const response = await this.call(() => this.http.get(`${this.version}/getSOPInstanceUIDs`, { searchParams: { SeriesInstanceUID: seriesUid } }));
    if (response.statusCode === 204 || response.body.trim() === '') return [];
    if (response.statusCode !== 200) throw httpError('getSOPInstanceUIDs', response);
    const rows = parseJsonRows<{ SOPInstanceUID?: unknown }>('getSOPInstanceUIDs', response.body);
    return rows.map((row) => String(row?.SOPInstanceUID ?? '').trim()).filter(Boolean);
  }

  /**
   * The MD5 TCIA publishes for one image, the value its md5hashes.csv lists (v4 getMD5HashForImage,
   * docs/reference/nbia.md#md5-of-one-image); undefined when it gives none (an unknown or non-public instance, a
   * blank digest, a server without v4).
   */
  async publishedMd5(sopInstanceUid: string): Promise<string | undefined> {
    const response = await this.call(() => this.http.get('v4/getMD5HashForImage', { searchParams: { SOPInstanceUID: sopInstanceUid } }));
    if (response.statusCode === 204 || response.statusCode === 404) return undefined;
    if (response.statusCode !== 200) throw httpError('getMD5HashForImage', response);
    const hash = fullWidth(response.body.trim().toLowerCase());
    return /^[0-9a-f]{32}$/.test(hash) ? hash : undefined;
  }

  /**
   * The first `maxBytes` of one file (getSingleImage, docs/reference/nbia.md#single-files): enough for its header,
   * whatever the file's size. Retried like the metadata calls: same attempts, same statuses.
   */
  async fileHead(seriesUid: string, sopInstanceUid: string, maxBytes: number, signal?: AbortSignal): Promise<Buffer> {
    const policy: RetryPolicy = { ...DEFAULT_RETRY, attempts: this.options.attempts, baseDelayMs: 1000 };
    return withRetries(policy, signal, () => this.readHead(seriesUid, sopInstanceUid, maxBytes, signal));
  }

  private async readHead(seriesUid: string, sopInstanceUid: string, maxBytes: number, signal?: AbortSignal): Promise<Buffer> {
    const searchParams = { SeriesInstanceUID: seriesUid, SOPInstanceUID: sopInstanceUid };
    const stream = this.http.stream(`${this.version}/getSingleImage`, { searchParams, retry: { limit: 0 }, signal: AbortSignal.any(signal ? [signal] : []) });
    try {
      const response = await new Promise<Response>((resolve, reject) => {
        stream.once('response', resolve);
        stream.once('error', reject);
      });
      if (response.statusCode !== 200) {
        throw new TciaHttpError(response.statusCode, `TCIA getSingleImage answered ${response.statusCode} for ${sopInstanceUid} of series ${seriesUid}: ${await readSnippet(stream)}`, {
          seriesUid, retryAfterMs: parseRetryAfter(header(response, 'retry-after')),
        });
      }
      return await readStart(stream, maxBytes);
    } catch (error) {
      throw translateNetworkError(error, 'TCIA', this.options.root);
    } finally {
      stream.destroy();
    }
  }

  /**
   * Opens the series zip. v4 getImage takes only SeriesInstanceUID, NewFileNames and IncludeMD5 and answers 400
   * to anything else, so nothing more is sent (docs/reference/nbia.md#responses). Resolves once a zip is really coming.
   */
  async openSeries(uid: string, signal: AbortSignal): Promise<Readable> {
    const path = this.version === 'v4' ? 'v4/getImage' : 'v1/getImageWithMD5Hash';
    const searchParams: Record<string, string> = this.version === 'v4' ? { SeriesInstanceUID: uid, IncludeMD5: 'Yes' } : { SeriesInstanceUID: uid };
    // got keeps its abort listener until the stream is destroyed, which a fully read download never is by itself:
    // the relay destroys it once done with the series (SourceSeries.close), and the listener goes with it.
    const stream = this.http.stream(path, { searchParams, retry: { limit: 0 }, signal: AbortSignal.any([signal]) });
    const response = await new Promise<Response>((resolve, reject) => {
      stream.once('response', resolve);
      stream.once('error', (error: Error) => reject(translateNetworkError(error, 'TCIA', this.options.root)));
    });
    if (response.statusCode !== 200) {
      const text = await readSnippet(stream);
      stream.destroy();
      const status = response.statusCode;
      const what = status === 400 ? `TCIA has no public series ${uid}` : `TCIA answered ${status} for series ${uid}`;
      throw new TciaHttpError(status, `${what}${text ? `: ${text}` : ''}`, { seriesUid: uid, retryAfterMs: parseRetryAfter(header(response, 'retry-after')) });
    }
    const type = header(response, 'content-type') ?? '';
    if (/text\/|html/i.test(type)) {
      const text = await readSnippet(stream);
      stream.destroy();
      // A portal or proxy page in front of NBIA; the next attempt may reach NBIA itself.
      throw new PeerAnswerError('TCIA', `TCIA sent a ${type.split(';')[0]} page instead of a zip for series ${uid}: ${text}`, { seriesUid: uid, retryable: true });
    }
    return stream;
  }

  private async call(send: () => Promise<Response<string>>): Promise<Response<string>> {
    try {
      return await send();
    } catch (error) {
      throw translateNetworkError(error, 'TCIA', this.options.root);
    }
  }
}

function header(response: Response, name: string): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function httpError(endpoint: string, response: Response<string>): TciaHttpError {
  const status = response.statusCode;
  return new TciaHttpError(status, `TCIA ${endpoint} answered ${status}: ${response.body.slice(0, 200).trim()}`, {
    retryAfterMs: parseRetryAfter(header(response, 'retry-after')),
  });
}

async function readSnippet(stream: Readable): Promise<string> {
  // Only for the message: a body that breaks off gives what came.
  return (await readStart(stream, 2048, { keepOnError: true })).toString('utf8').replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 200);
}

/** An answer that does not parse is TCIA's fault, told in one line, never a crash of ours. */
function unreadable(endpoint: string, error: unknown): PeerAnswerError {
  return new PeerAnswerError('TCIA', `TCIA's ${endpoint} answer could not be read: ${(error as Error).message}`, {
    cause: error,
    hint: 'a fault on TCIA\'s side: try again later, and tell TCIA if it persists',
  });
}

/** A JSON list answer's rows. */
function parseJsonRows<T>(endpoint: string, body: string): T[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (error) {
    throw unreadable(endpoint, error);
  }
  if (!Array.isArray(parsed)) throw unreadable(endpoint, new Error(`expected a JSON list, got ${body.slice(0, 80).trim()}`));
  return parsed as T[];
}

/**
 * The series the rows describe. Rows of which none names a series mean TCIA answered in columns this tool does not
 * know, which must not pass for "no such series" (docs/reference/nbia.md#column-names).
 */
function describedSeries(endpoint: string, rows: Record<string, unknown>[]): SeriesMetadata[] {
  const described = rows.map((row) => (row && typeof row === 'object' ? fromMetadataRow(row) : undefined)).filter((meta): meta is SeriesMetadata => meta !== undefined);
  if (rows.length > 0 && described.length === 0) {
    const titles = Object.keys(rows[0] ?? {});
    const columns = titles.length > 8 ? `${titles.slice(0, 8).join(', ')}, …` : titles.join(', ');
    throw new PeerAnswerError('TCIA', `TCIA's ${endpoint} answer was not recognised: none of its ${rows.length} row(s) gives a SeriesInstanceUID (columns: ${columns})`, {
      hint: 'NBIA may have renamed its columns again, which this version of the tool does not know; please report it',
    });
  }
  return described;
}

/** v4 metadata is CSV with every cell quoted; an empty result is an empty body (docs/reference/nbia.md#series-metadata-v4, docs/reference/nbia.md#responses). */
async function parseV4Csv(body: string): Promise<SeriesMetadata[]> {
  if (body.trim() === '') return [];
  const rows: Record<string, string>[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      parseString(body, { headers: true, ignoreEmpty: true })
        .on('error', reject)
        .on('data', (row: Record<string, string>) => rows.push(row))
        .on('end', () => resolve());
    });
  } catch (error) {
    throw unreadable('getSeriesMetadata', error);
  }
  return describedSeries('getSeriesMetadata', rows);
}
