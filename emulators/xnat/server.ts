/** The HTTP front: request recording, proxy-level faults, authentication, CSRF and routing. */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';
import { accountRedirect, authenticate, challenge, checkCsrf, handleAuthRoute, handleFormLogin, sessionHeaders } from './auth.js';
import { handleExperimentRoute } from './experiments.js';
import type { FaultController } from './faults.js';
import { HttpError, type Ctx, readAll, sendError, statusPage } from './html.js';
import { handleImport, handleStatus } from './import.js';
import { handlePrearchiveRoute } from './prearchive.js';
import { handleProjectRoute } from './projects.js';
import { handleResourceRoute } from './resources.js';
import { handleServiceRoute } from './services.js';
import type { XnatState } from './state.js';
import { handleXapiRoute } from './xapi.js';
import type { RecordedRequest } from './types.js';

export interface ServerDeps {
  state: XnatState;
  faults: FaultController;
  requests: RecordedRequest[];
  /** Runs lazy housekeeping (auto-commit) before each request. */
  beforeRequest(): void;
}

export function createXnatServer(deps: ServerDeps): Server {
  return createServer((req, res) => {
    void serve(deps, req, res);
  });
}

async function serve(deps: ServerDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const method = (req.method ?? 'GET').toUpperCase();
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) if (!(k in query)) query[k] = v;
  const record: RecordedRequest = { method, path: url.pathname, query, status: 0, bodyBytes: 0, at: Date.now() };
  deps.requests.push(record);
  // The status is known once the head is written; a socket destroyed before that records 0.
  res.on('finish', () => (record.status = res.statusCode));
  res.on('close', () => {
    if (!res.headersSent) record.status = 0;
  });
  deps.beforeRequest();

  const rawUrl = req.url ?? '/';
  const drop = deps.faults.takeDrop(method, rawUrl);
  if (drop && drop.afterBytes <= 0) {
    req.socket.destroy();
    return;
  }
  const body = bodyStream(req, record, drop?.afterBytes);
  const proxyFault = deps.faults.takeStatus(method, rawUrl);
  if (proxyFault) {
    body.resume();
    record.status = proxyFault.status;
    res.writeHead(proxyFault.status, { 'Content-Type': 'text/html;charset=UTF-8' }).end(statusPage(proxyFault.message));
    return;
  }
  const late = deps.faults.takeLate504(method, rawUrl);

  const host = req.headers.host ?? '127.0.0.1';
  const extraHeaders: Record<string, string | string[]> = {};
  const ctx: Ctx & { lateArchiveDelayMs?: number } = {
    req,
    method,
    path: routePath(url.pathname),
    seg: [],
    query,
    params: { ...query },
    state: deps.state,
    faults: deps.faults,
    body,
    siteUrl: `http://${host}`,
    reply(status, payload = '', contentType = 'text/plain', headers = {}) {
      if (res.headersSent || res.destroyed || req.socket.destroyed || late) return;
      res.writeHead(status, { ...extraHeaders, 'Content-Type': contentType, ...headers });
      record.status = status;
      res.end(payload);
    },
  };
  ctx.seg = ctx.path.split('/').filter(Boolean).map(safeDecode);
  // late-504: the proxy gives up once it has forwarded the request; XNAT carries on behind it.
  const answerLate = (): void => {
    if (!late || res.headersSent || res.destroyed) return;
    record.status = 504;
    res.writeHead(504, { 'Content-Type': 'text/html' }).end(statusPage('Gateway Time-out'));
  };
  if (late) {
    ctx.lateArchiveDelayMs = late.archiveDelayMs;
    if (req.headers['content-length'] === '0' || (!req.headers['content-length'] && !req.headers['transfer-encoding'])) answerLate();
    else body.on('end', answerLate);
  }

  try {
    await route(ctx, extraHeaders, (user) => (record.user = user));
    answerLate();
    if (!res.headersSent && !late) sendError(ctx, 404, 'The server has not found anything matching the request URI');
  } catch (err) {
    if (err instanceof HttpError) sendError(ctx, err.status, err.message, err.headers);
    else if ((err as { code?: string }).code === 'ECONNRESET') res.destroy();
    else sendError(ctx, 500, (err as Error).message || 'Internal Server Error');
  }
  answerLate();
  if (!body.readableEnded && !body.destroyed) body.resume();
}

async function route(ctx: Ctx, extraHeaders: Record<string, string | string[]>, onUser: (name: string) => void): Promise<void> {
  const { seg, state } = ctx;
  if (seg[0] === 'app' && seg[1] === 'template' && seg[2] === 'Login.vm') {
    ctx.reply(200, '<html><body><!-- BEGIN xnat-templates/screens/Login.vm --><form>Login</form></body></html>', 'text/html');
    return;
  }
  if (!isApi(ctx)) return;
  if (seg[0] === 'services' && seg[1] === 'auth' && seg.length === 2) {
    // Public: form login answers the new session id (AuthenticationRestlet).
    const login = await handleFormLogin(ctx);
    if (login) {
      Object.assign(extraHeaders, sessionHeaders(state, login.session, true));
      ctx.reply(200, login.session.id, 'text/plain');
    }
    return;
  }
  const auth = authenticate(state, ctx.req);
  if (!auth.ok) {
    challenge(ctx, auth);
    return;
  }
  ctx.user = auth.user;
  onUser(auth.user.username);
  ctx.session = auth.session;
  Object.assign(extraHeaders, sessionHeaders(state, auth.session, auth.created));
  if (accountRedirect(ctx, auth.user)) return;
  const type = ctx.req.headers['content-type'] ?? '';
  if (/^application\/x-www-form-urlencoded/i.test(type) && ctx.method !== 'GET') {
    for (const [k, v] of new URLSearchParams((await readAll(ctx.body)).toString('utf8'))) ctx.params[k] ??= v;
  }
  checkCsrf(ctx);
  if (handleAuthRoute(ctx)) return;
  if (seg[0] === 'services' && seg[1] === 'import' && seg.length === 2) return handleImport(ctx);
  if (handleStatus(ctx)) return;
  if (handleServiceRoute(ctx)) return;
  if (handleXapiRoute(ctx)) return;
  if (handlePrearchiveRoute(ctx)) return;
  if (await handleResourceRoute(ctx)) return;
  if (await handleProjectRoute(ctx)) return;
  if (handleExperimentRoute(ctx)) return;
}

/** Everything under `/data` or `/REST`, plus `/xapi/siteConfig/buildInfo`. */
function isApi(ctx: Ctx): boolean {
  return ctx.req.url?.startsWith('/data/') === true || ctx.req.url?.startsWith('/REST/') === true || ctx.req.url?.startsWith('/xapi/') === true;
}

/** `/data/archive/projects/...` equals `/data/projects/...` (XNATApplication). */
function routePath(pathname: string): string {
  const p = pathname.replace(/^\/(data|REST)(?=\/|$)/, '');
  if (pathname.startsWith('/xapi/')) return pathname;
  return p.replace(/^\/archive(?=\/(projects|experiments|subjects)(\/|$))/, '');
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new HttpError(400, `Malformed path segment ${s}`);
  }
}

/**
 * The request body as handlers see it: counted for the request log, and cut off (socket destroyed)
 * after `dropAfter` bytes when a drop fault is armed. A client abort surfaces as ECONNRESET.
 */
function bodyStream(req: IncomingMessage, record: RecordedRequest, dropAfter: number | undefined): Readable {
  const out = new PassThrough();
  let ended = false;
  let dropped = false;
  const abort = (): void => {
    if (ended || out.destroyed) return;
    ended = true;
    // Bytes that arrived before the break are still handed over (the zip reader keeps complete entries), then the error.
    const deadline = Date.now() + 2000;
    const fail = (): void => {
      if (out.destroyed) return;
      if (out.readableLength > 0 && Date.now() < deadline) setTimeout(fail, 5).unref();
      else out.destroy(Object.assign(new Error('upload aborted'), { code: 'ECONNRESET' }));
    };
    fail();
  };
  req.on('data', (c: Buffer) => {
    if (dropped || out.destroyed) return;
    if (dropAfter !== undefined && record.bodyBytes + c.length >= dropAfter) {
      // Bytes already buffered on our side of the socket are discarded too: the body ends here.
      const room = dropAfter - record.bodyBytes;
      record.bodyBytes += room;
      out.write(c.subarray(0, room));
      dropped = true;
      req.socket.destroy();
      abort();
      return;
    }
    record.bodyBytes += c.length;
    if (!out.write(c)) req.pause();
  });
  out.on('drain', () => req.resume());
  req.on('end', () => {
    if (ended) return;
    ended = true;
    out.end();
  });
  req.on('error', abort);
  req.on('close', abort);
  return out;
}
