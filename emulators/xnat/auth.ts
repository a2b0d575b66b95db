/** Authentication: Basic (password or alias token), JSESSIONID sessions, CSRF, login routes, token service. */
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { HttpError, type Ctx, readAll, sendError } from './html.js';
import type { AliasToken, HttpSession, UserRecord, XnatState } from './state.js';

/** XnatAuthenticationEntryPoint's browser test (docs/reference/xnat-rest.md#login-and-sessions). */
const BROWSER_UA = /.*Mozilla.*|.*AppleWebKit.*|.*MSIE.*|.*Opera.*/;
const MAX_FAILED_LOGINS = 20; // maxFailedLogins, then locked for an hour
const MAX_SESSIONS_PER_USER = 1000; // concurrentMaxSessions
const TOKEN_LIFETIME_MS = 2 * 24 * 3600_000; // alias tokens last 2 days by default

export function isBrowser(req: IncomingMessage): boolean {
  return BROWSER_UA.test(req.headers['user-agent'] ?? '');
}

export type AuthResult =
  | { ok: true; user: UserRecord; session: HttpSession; created: boolean }
  | { ok: false; bad: boolean; message: string };

/** Resolves the caller from the Basic header and/or the JSESSIONID cookie. */
export function authenticate(state: XnatState, req: IncomingMessage): AuthResult {
  const now = Date.now();
  const cookieSession = liveSession(state, cookieValue(req, 'JSESSIONID'), now);
  const basic = parseBasic(req.headers.authorization);
  if (basic) {
    // Spring's BasicAuthenticationFilter skips re-authentication when the session already holds this user.
    if (cookieSession && cookieSession.username === basic.username) return touch(state, cookieSession, now);
    const user = checkCredentials(state, basic.username, basic.password, now);
    if (!user) {
      state.failedLogins++;
      return { ok: false, bad: true, message: 'Login attempt failed. Please try again.' };
    }
    const open = [...state.sessions.values()].filter((s) => s.username === user.username && isLive(state, s, now));
    if (open.length >= MAX_SESSIONS_PER_USER) {
      return { ok: false, bad: true, message: 'Maximum sessions exceeded for this user.' };
    }
    // Session-fixation protection: a re-authentication replaces the old session id.
    if (cookieSession) cookieSession.valid = false;
    return { ok: true, user, session: newSession(state, user.username, now), created: true };
  }
  if (cookieSession) return touch(state, cookieSession, now);
  return { ok: false, bad: false, message: 'Authentication required' };
}

/** Answers an unauthenticated request: 302 to Login.vm for browsers, else 401 with a Basic challenge. */
export function challenge(ctx: Ctx, result: Extract<AuthResult, { ok: false }>): void {
  if (!result.bad && isBrowser(ctx.req)) {
    ctx.reply(302, '', 'text/html', { Location: `${ctx.siteUrl}/app/template/Login.vm` });
    return;
  }
  sendError(ctx, 401, result.bad ? result.message : 'The request requires user authentication', {
    'WWW-Authenticate': 'Basic realm="XNAT"',
  });
}

/**
 * XnatExpiredPasswordFilter, which runs after Basic authentication: a logged-in local user whose password expired, or
 * whose account was disabled for inactivity, is redirected to the matching page (docs/reference/xnat-rest.md#login-redirects).
 */
export function accountRedirect(ctx: Ctx, user: UserRecord): boolean {
  const page = user.inactive ? 'InactiveAccount.vm' : user.passwordExpired ? 'XDATScreen_UpdateUser.vm' : undefined;
  if (!page) return false;
  ctx.reply(302, '', 'text/html', { Location: `${ctx.siteUrl}/app/template/${page}` });
  return true;
}

/** CSRF check of SecureAction.isCsrfTokenOk: browser-like UAs must send XNAT_CSRF on POST/PUT/DELETE. */
export function checkCsrf(ctx: Ctx): void {
  if (!['POST', 'PUT', 'DELETE'].includes(ctx.method)) return;
  const ua = ctx.req.headers['user-agent'] ?? '';
  if (!isBrowser(ctx.req) || /JAVA|XNATDesktopClient/i.test(ua)) return;
  if (ctx.session && ctx.params.XNAT_CSRF === ctx.session.csrf) return;
  // A failed check throws inside the guard, which surfaces as a server error (docs/reference/xnat-rest.md#login-and-sessions).
  throw new HttpError(500, 'INVALID CSRF (Request parameter XNAT_CSRF missing or incorrect)');
}

/** Headers every authenticated response carries. */
export function sessionHeaders(state: XnatState, session: HttpSession, created: boolean): Record<string, string | string[]> {
  const expiry = `"${session.lastAccess},${state.sessionTimeoutMs}"`;
  const cookies = [`SESSION_EXPIRATION_TIME=${expiry}; Path=/`];
  if (created) cookies.unshift(`JSESSIONID=${session.id}; Path=/; HttpOnly`);
  return { 'Set-Cookie': cookies, SESSION_EXPIRATION_TIME: expiry };
}

/** Public `/data/services/auth`: form login, body = session id (AuthenticationRestlet). */
export async function handleFormLogin(ctx: Ctx): Promise<{ user: UserRecord; session: HttpSession } | undefined> {
  if (ctx.method !== 'PUT' && ctx.method !== 'POST') {
    sendError(ctx, 405, 'Method Not Allowed');
    return undefined;
  }
  const form = new URLSearchParams((await readAll(ctx.body)).toString('utf8'));
  const username = form.get('username') ?? ctx.query.username ?? '';
  const password = form.get('password') ?? ctx.query.password ?? '';
  const user = checkCredentials(ctx.state, username, password, Date.now());
  if (!user) {
    ctx.state.failedLogins++;
    sendError(ctx, 401, 'Authentication failed.');
    return undefined;
  }
  return { user, session: newSession(ctx.state, user.username, Date.now()) };
}

/** `/data/JSESSION`, `/data/auth`, `/data/services/tokens/...`; returns false when not an auth route. */
export function handleAuthRoute(ctx: Ctx): boolean {
  const [a, b, c, d, e] = ctx.seg;
  const user = ctx.user as UserRecord;
  const session = ctx.session as HttpSession;
  if (a === 'JSESSION') {
    if (ctx.method === 'GET' || ctx.method === 'POST') {
      const csrf = ctx.query.CSRF === 'true' ? `; XNAT_CSRF=${session.csrf}` : '';
      ctx.reply(200, `${session.id}${csrf}`, 'text/plain');
    } else if (ctx.method === 'DELETE') {
      const target = b ? ctx.state.sessions.get(b) : session;
      if (target && (target.username === user.username || user.admin)) target.valid = false;
      ctx.reply(200, '', 'text/plain');
    } else sendError(ctx, 405, 'Method Not Allowed');
    return true;
  }
  if (a === 'auth' && b === undefined) {
    if (ctx.method !== 'GET') sendError(ctx, 405, 'Method Not Allowed');
    else ctx.reply(200, `User '${user.username}' is logged in`, 'text/plain');
    return true;
  }
  if (a !== 'services' || b !== 'tokens') return false;
  if (c === 'issue') {
    let owner = user.username;
    if (d === 'user' && e !== undefined) {
      if (!user.admin && e !== user.username) throw new HttpError(403, 'Only admins can issue tokens for other users.');
      if (!ctx.state.users.has(e)) throw new HttpError(404, `User ${e} not found.`);
      owner = e;
    }
    ctx.reply(200, JSON.stringify(tokenJson(issueToken(ctx.state, owner))), 'application/json');
    return true;
  }
  if (c === 'validate' && d !== undefined && e !== undefined) {
    const t = ctx.state.tokens.get(d);
    if (!t || !tokenUsable(t, Date.now()) || t.secret !== e) throw new HttpError(404, 'Token not found.');
    ctx.reply(200, JSON.stringify({ valid: t.username }), 'application/json');
    return true;
  }
  if (c === 'invalidate' && d !== undefined) {
    const t = ctx.state.tokens.get(d);
    if (!t || (e !== undefined && t.secret !== e)) throw new HttpError(404, 'Token not found.');
    if (t.username !== user.username && !user.admin) throw new HttpError(403, 'Only admins can invalidate tokens of other users.');
    t.enabled = false;
    ctx.reply(200, '', 'text/plain');
    return true;
  }
  throw new HttpError(404, 'Unknown token operation.');
}

/** Creates an alias token for a user (the emulator's `issueAliasToken`). */
export function issueToken(state: XnatState, username: string): AliasToken {
  const now = Date.now();
  const token: AliasToken = {
    alias: randomUUID(),
    secret: randomAlnum(64),
    username,
    created: now,
    expires: now + TOKEN_LIFETIME_MS,
    enabled: true,
    id: state.nextTokenId(),
  };
  state.tokens.set(token.alias, token);
  return token;
}

function tokenJson(t: AliasToken): Record<string, unknown> {
  return {
    alias: t.alias,
    secret: t.secret,
    xdatUserId: t.username,
    singleUse: false,
    estimatedExpirationTime: t.expires,
    validIPAddresses: [],
    id: t.id,
    enabled: t.enabled,
    created: t.created,
    timestamp: t.created,
    disabled: 0,
  };
}

function tokenUsable(t: AliasToken, now: number): boolean {
  return t.enabled && t.expires > now;
}

function checkCredentials(state: XnatState, rawName: string, password: string, now: number): UserRecord | undefined {
  // `provider/user` selects the provider; the emulator has only the local database.
  const name = rawName.includes('/') ? rawName.slice(rawName.indexOf('/') + 1) : rawName;
  const token = state.tokens.get(name);
  if (token) {
    // AliasTokenAuthenticationProvider: the alias names the token, the secret is the password.
    if (!tokenUsable(token, now) || token.secret !== password) return undefined;
    return state.users.get(token.username);
  }
  const user = state.users.get(name);
  if (!user) return undefined;
  if (user.lockedUntil > now) return undefined;
  if (user.password !== password) {
    if (++user.failedLogins >= MAX_FAILED_LOGINS) user.lockedUntil = now + 3600_000;
    return undefined;
  }
  user.failedLogins = 0;
  return user;
}

function newSession(state: XnatState, username: string, now: number): HttpSession {
  const session: HttpSession = {
    id: randomBytes(16).toString('hex').toUpperCase(),
    username,
    created: now,
    lastAccess: now,
    csrf: randomUUID(),
    valid: true,
  };
  state.sessions.set(session.id, session);
  state.logins++;
  state.loginCounts.set(username, (state.loginCounts.get(username) ?? 0) + 1);
  return session;
}

function touch(state: XnatState, session: HttpSession, now: number): AuthResult {
  session.lastAccess = now;
  const user = state.users.get(session.username) as UserRecord;
  return { ok: true, user, session, created: false };
}

export function isLive(state: XnatState, s: HttpSession, now: number): boolean {
  return s.valid && now - s.lastAccess <= state.sessionTimeoutMs;
}

function liveSession(state: XnatState, id: string | undefined, now: number): HttpSession | undefined {
  if (!id) return undefined;
  const s = state.sessions.get(id);
  if (!s) return undefined;
  if (!isLive(state, s, now)) {
    s.valid = false;
    state.staleCookies++;
    return undefined;
  }
  return s;
}

function cookieValue(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

function parseBasic(header: string | undefined): { username: string; password: string } | undefined {
  const m = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1] as string, 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) return undefined;
  return { username: decoded.slice(0, i), password: decoded.slice(i + 1) };
}

function randomAlnum(n: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(n);
  let out = '';
  for (const b of bytes) out += alphabet[b % alphabet.length];
  return out;
}
