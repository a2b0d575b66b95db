import type { Got, Method, OptionsOfTextResponseBody, Response } from 'got';
import { baseHttp } from '../http-request.js';
import { ConnectionError, XnatHttpError } from '../errors.js';
import type { Logger } from '../log.js';
import { proxyAnswerError, translateNetworkError } from '../network-errors.js';
import { CONNECTION_CODES, retryableStatuses } from '../retryable.js';
import { SessionCookieJar } from './cookie-jar.js';
import { xnatErrorMessage } from './html-error.js';
import { loginRedirectError } from './login-redirect.js';

export interface XnatClientOptions {
  host: string;
  user: string;
  pass: string;
  insecure: boolean;
  logger: Logger;
}

/** Idle time after which the session cookie is checked before a non-repeatable request (XNAT's default timeout is 15 min). */
const HEARTBEAT_AFTER_MS = 5 * 60_000;

/**
 * One XNAT login and the requests sent under it. It logs in once with Basic (password or alias token) and then
 * sends only the JSESSIONID cookie: Basic on every call opens a new server session each time and runs into the
 * per-user session cap (docs/reference/xnat-rest.md#login-and-sessions). Redirects are never followed: a commit
 * answers 301 with the archive URI in the body and no Location (docs/reference/xnat-rest.md#commit).
 */
export class XnatSession {
  private readonly http: Got;
  private readonly jar = new SessionCookieJar();
  readonly options: XnatClientOptions;
  private login?: Promise<void>;
  private lastActivity = 0;

  constructor(options: XnatClientOptions) {
    this.options = options;
    this.http = baseHttp.extend({
      cookieJar: this.jar,
      followRedirect: false,
      throwHttpErrors: false,
      https: { rejectUnauthorized: !options.insecure },
      timeout: { connect: 30_000, secureConnect: 30_000 },
      retry: {
        limit: 3,
        // Only requests that can be repeated safely; imports and commits are never re-sent blindly.
        methods: ['GET', 'PUT', 'DELETE', 'HEAD'],
        statusCodes: retryableStatuses('XNAT'),
        errorCodes: [...CONNECTION_CODES],
      },
    });
  }

  /** Logs in (once; concurrent callers share the attempt). */
  async authenticate(force = false): Promise<void> {
    if (force || !this.login) this.login = this.doLogin();
    try {
      await this.login;
    } catch (error) {
      this.login = undefined;
      throw error;
    }
  }

  /** The next request logs in again (the session expired where the request could not be repeated). */
  forgetLogin(): void {
    this.login = undefined;
  }

  private async doLogin(): Promise<void> {
    this.jar.clear();
    const { user, pass, host } = this.options;
    let response: Response<string>;
    try {
      response = await this.http.get(this.url('/data/JSESSION'), { username: user, password: pass, retry: { limit: 2 } });
    } catch (error) {
      throw translateNetworkError(error, 'XNAT', host);
    }
    const status = response.statusCode;
    const proxyRefusal = proxyAnswerError(status, 'XNAT', host);
    if (proxyRefusal) throw proxyRefusal;
    if (status === 401 || status === 403) {
      throw new XnatHttpError(status, 'GET', '/data/JSESSION', `XNAT rejected the credentials of user '${user}' (${status})`, {
        hint: 'check XNAT_USER/XNAT_PASS; an alias token may have expired (they last 2 days by default)',
      });
    }
    if (status >= 300 && status < 400) throw loginRedirectError(host, user, String(response.headers.location ?? ''));
    // A 404 or a page without a session cookie: something answers, but not XNAT's REST API.
    if (status === 404 || (status === 200 && !this.jar.hasSession)) {
      throw new ConnectionError('XNAT', 'ERR_NOT_XNAT', `no XNAT answers at ${host}; check the base URL (it is the address of the XNAT home page)`);
    }
    if (status !== 200 || !this.jar.hasSession) {
      throw new XnatHttpError(status, 'GET', '/data/JSESSION', `XNAT login failed (${status}): ${xnatErrorMessage(response.body) || 'no session cookie'}`, {
        hint: `is ${host} the XNAT base URL?`,
      });
    }
    this.lastActivity = Date.now();
    this.options.logger.debug({ user }, 'XNAT session opened');
  }

  /** Sends a request with the session cookie; one expired session is renewed and the request sent again. */
  async request(method: Method, path: string, options: OptionsOfTextResponseBody = {}): Promise<Response<string>> {
    await this.authenticate();
    for (let attempt = 0; ; attempt += 1) {
      const response = await this.send(path, { ...options, method });
      if (attempt === 0 && isSessionExpired(response)) {
        this.options.logger.info('XNAT session expired; logging in again');
        await this.authenticate(true);
        continue;
      }
      return response;
    }
  }

  /** Sends one request as it is, once the session is known to be alive: for a body that cannot be sent twice. */
  async sendOnce(path: string, options: OptionsOfTextResponseBody): Promise<Response<string>> {
    await this.keepAlive();
    return this.send(path, { ...options, retry: { limit: 0 } });
  }

  /** Makes sure the session is alive before a request that cannot be repeated (a streamed import). */
  async keepAlive(): Promise<void> {
    await this.authenticate();
    if (Date.now() - this.lastActivity < HEARTBEAT_AFTER_MS) return;
    await this.request('GET', '/data/JSESSION');
  }

  private async send(path: string, options: OptionsOfTextResponseBody): Promise<Response<string>> {
    let response: Response<string>;
    try {
      response = (await this.http(this.url(path), options)) as Response<string>;
    } catch (error) {
      throw translateNetworkError(error, 'XNAT', this.options.host);
    }
    const proxyRefusal = proxyAnswerError(response.statusCode, 'XNAT', this.options.host);
    if (proxyRefusal) throw proxyRefusal;
    this.lastActivity = Date.now();
    return response;
  }

  url(path: string): string {
    return `${this.options.host}${path.startsWith('/') ? path : `/${path}`}`;
  }

  /** The error for an answer the caller did not expect, in XNAT's own words where it gave any. */
  error(response: Response<string>, method: string, path: string): XnatHttpError {
    const status = response.statusCode;
    const message = xnatErrorMessage(response.body) || response.statusMessage || 'no message';
    return new XnatHttpError(status, method, path, `XNAT ${method} ${path.split('?')[0]} answered ${status}: ${message}`);
  }
}

/** XNAT signals an expired session with 401, a redirect to the login page, or the login page itself (docs/reference/xnat-rest.md#login-and-sessions). */
export function isSessionExpired(response: Response<string>): boolean {
  if (response.statusCode === 401) return true;
  if (response.statusCode === 302 && /login/i.test(String(response.headers.location ?? ''))) return true;
  return response.statusCode === 200 && response.body.includes('xnat-templates/screens/Login.vm');
}
