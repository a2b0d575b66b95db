// One request/response pair: parsed query, body reading, and response helpers that log the status once known.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';

/** One logged request; `listSize` is the number of UIDs in a getSeriesMetadata `list`. */
export interface RequestRecord {
  method: string;
  path: string;
  query: Record<string, string>;
  status: number;
  /** Arrival time, ms since the epoch. */
  at: number;
  listSize?: number;
}

// 10,000 UIDs of 64 characters are ~650 KB; anything past this is a client bug, not a realistic request.
const MAX_BODY_BYTES = 32 * 1024 * 1024;

/** Request context handed to every route. */
export class Exchange {
  readonly at = Date.now();
  readonly url: URL;
  /** First value of each query parameter, as Jersey's @QueryParam sees it. */
  readonly query: Record<string, string> = {};
  private readonly extra: Partial<RequestRecord> = {};

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    private readonly log: RequestRecord[],
  ) {
    this.url = new URL(req.url ?? '/', 'http://127.0.0.1');
    for (const [key, value] of this.url.searchParams) {
      if (!(key in this.query)) this.query[key] = value;
    }
  }

  /** Sends the status line and headers and logs the request. */
  head(status: number, headers: OutgoingHttpHeaders): void {
    this.res.writeHead(status, headers);
    this.log.push({
      method: this.req.method ?? 'GET',
      path: this.url.pathname,
      query: { ...this.query },
      status,
      at: this.at,
      ...this.extra,
    });
  }

  /** Adds detail to this request's log entry; call before the response head is sent. */
  annotate(extra: Partial<RequestRecord>): void {
    Object.assign(this.extra, extra);
  }

  /** A complete response with a Content-Length. */
  send(status: number, body: string | Buffer, contentType: string, headers: OutgoingHttpHeaders = {}): void {
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    this.head(status, { 'Content-Type': contentType, 'Content-Length': bytes.length, ...headers });
    this.res.end(bytes);
  }

  text(status: number, body: string, contentType = 'text/plain'): void {
    this.send(status, body, contentType);
  }

  json(status: number, value: unknown): void {
    this.send(status, JSON.stringify(value), 'application/json');
  }

  /** An empty result: NBIA answers 200 with no body rather than `[]` (docs/reference/nbia.md#responses). */
  empty(contentType = 'application/json', headers: OutgoingHttpHeaders = {}): void {
    this.send(200, '', contentType, headers);
  }

  /** Reads the whole request body as text. */
  async body(): Promise<string> {
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of this.req as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > MAX_BODY_BYTES) throw new Error(`Request body exceeds ${MAX_BODY_BYTES} bytes`);
      chunks.push(chunk);
    }
    return Buffer.concat(chunks).toString('utf8');
  }
}
