/** Response helpers: Restlet status pages, XFTTable ResultSets, uri-lists, request context. */
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { HttpSession, UserRecord, XnatState } from './state.js';
import type { FaultController } from './faults.js';

/** A handler-visible failure; the router turns it into a status page. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** What every route handler gets. */
export interface Ctx {
  req: IncomingMessage;
  method: string;
  /** Route path: `/data`, `/REST` and a leading `/archive` stripped, e.g. `/projects/P`. */
  path: string;
  /** Decoded route path segments. */
  seg: string[];
  query: Record<string, string>;
  /** Query plus form fields (multipart or urlencoded), query first. */
  params: Record<string, string>;
  state: XnatState;
  faults: FaultController;
  user?: UserRecord;
  session?: HttpSession;
  /** The request body (the raw request, or a counting wrapper when a drop fault is armed). */
  body: Readable;
  siteUrl: string;
  reply(status: number, body?: string | Buffer, contentType?: string, headers?: Record<string, string>): void;
}

/** Restlet's HTML status page; clients parse the message out of `<h3>` (docs/reference/xnat-rest.md#conventions). */
export function statusPage(message: string): string {
  return (
    `<html><head><title>Status page</title></head><body><h3>${escapeHtml(message)}</h3>` +
    '<p>You can get technical details <a href="http://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html">here</a>.<br>' +
    'Please continue your visit at our <a href="/">home page</a>.</p></body></html>'
  );
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function sendError(ctx: Ctx, status: number, message: string, headers: Record<string, string> = {}): void {
  ctx.reply(status, statusPage(message), 'text/html;charset=UTF-8', headers);
}

export type MediaType = 'json' | 'xml' | 'csv' | 'html' | 'txt' | 'zip';

/** `format=` overrides `Accept` (SecureResource.getRequestedMediaType). */
export function mediaType(ctx: Ctx, fallback: MediaType): MediaType {
  const f = ctx.query.format?.toLowerCase();
  if (f === 'json' || f === 'xml' || f === 'csv' || f === 'html' || f === 'txt' || f === 'zip') return f;
  const accept = ctx.req.headers.accept ?? '';
  if (accept.includes('application/json')) return 'json';
  if (accept.includes('text/xml') || accept.includes('application/xml')) return 'xml';
  return fallback;
}

/** An XFTTable: every value a string, null as "" (JSONTableRepresentation). */
export type Row = Record<string, string>;

export function sendTable(ctx: Ctx, rows: Row[], title = 'Results', fallback: MediaType = 'html'): void {
  const columns = rows.length > 0 ? Object.keys(rows[0] as Row) : [];
  const fmt = mediaType(ctx, fallback);
  if (fmt === 'json') {
    const body = JSON.stringify({ ResultSet: { Result: rows, totalRecords: String(rows.length), title } });
    ctx.reply(200, body, 'application/json');
  } else if (fmt === 'csv') {
    const line = (vals: string[]): string => vals.map((v) => `"${v.replace(/"/g, '""')}"`).join(',');
    const lines = [line(columns), ...rows.map((r) => line(columns.map((c) => r[c] ?? '')))];
    ctx.reply(200, lines.join('\n') + '\n', 'text/csv');
  } else if (fmt === 'xml') {
    const cols = columns.map((c) => `<column>${escapeHtml(c)}</column>`).join('');
    const body = rows
      .map((r) => `<row>${columns.map((c) => `<cell>${escapeHtml(r[c] ?? '')}</cell>`).join('')}</row>`)
      .join('');
    ctx.reply(
      200,
      `<?xml version="1.0" encoding="UTF-8"?><ResultSet totalRecords="${rows.length}" title="${escapeHtml(title)}"><results><columns>${cols}</columns><rows>${body}</rows></results></ResultSet>`,
      'text/xml',
    );
  } else {
    const head = columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('');
    const body = rows
      .map((r) => `<tr>${columns.map((c) => `<td>${escapeHtml(r[c] ?? '')}</td>`).join('')}</tr>`)
      .join('');
    ctx.reply(200, `<html><body><table><tr>${head}</tr>${body}</table></body></html>`, 'text/html');
  }
}

/** Success body of the importer and the archiver: `text/uri-list`, CRLF per line; `format=txt` gives bare text. */
export function sendUriList(ctx: Ctx, uris: string[], status = 200, headers: Record<string, string> = {}): void {
  if (ctx.query.format === 'txt') ctx.reply(status, uris.join('\n'), 'text/plain', headers);
  else ctx.reply(status, uris.map((u) => `${u}\r\n`).join(''), 'text/uri-list', headers);
}

/** Reads the whole body. */
export async function readAll(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Java `Timestamp.toString()`: `yyyy-MM-dd HH:mm:ss.f`, trailing zeros of the fraction dropped. */
export function javaTimestamp(d: Date): string {
  const ms = String(d.getMilliseconds()).padStart(3, '0').replace(/0+$/, '') || '0';
  return `${isoDate(d)} ${hms(d)}.${ms}`;
}

/** `yyyy-MM-dd HH:mm:ss.SSS`. */
export function millisTimestamp(d: Date): string {
  return `${isoDate(d)} ${hms(d)}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

export function isoDate(d: Date): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

function hms(d: Date): string {
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Prearchive timestamp folder `yyyyMMdd_HHmmssSSS`. */
export function prearcTimestamp(d: Date): string {
  return (
    `${d.getFullYear()}${pad(d.getMonth() + 1)}${pad(d.getDate())}_` +
    `${pad(d.getHours())}${pad(d.getMinutes())}${pad(d.getSeconds())}${String(d.getMilliseconds()).padStart(3, '0')}`
  );
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** DICOM DA `yyyyMMdd` → `yyyy-MM-dd` (empty stays empty). */
export function dicomDate(da: string): string {
  const m = /^(\d{4})(\d{2})(\d{2})/.exec(da.trim());
  return m ? `${m[1]}-${m[2]}-${m[3]}` : '';
}

/** DICOM TM `HHmmss.frac` → `HH:mm:ss`. */
export function dicomTime(tm: string): string {
  const m = /^(\d{2})(\d{2})?(\d{2})?/.exec(tm.trim());
  return m ? `${m[1]}:${m[2] ?? '00'}:${m[3] ?? '00'}` : '';
}

/** True when a param is a Java-style boolean true. */
export function isTrue(v: string | undefined): boolean {
  return v !== undefined && v.toLowerCase() === 'true';
}
