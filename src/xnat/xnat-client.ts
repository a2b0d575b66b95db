import type { Readable } from 'node:stream';
import got, { type Got, type Method, type OptionsOfTextResponseBody, type Response } from 'got';
import { ConnectionError, XnatHttpError } from '../errors.js';
import { translateNetworkError } from '../http-errors.js';
import type { Logger } from '../log.js';
import { USER_AGENT } from '../version.js';
import { SessionCookieJar } from './cookie-jar.js';
import { xnatErrorMessage } from './html-error.js';

export interface XnatClientOptions {
  host: string;
  user: string;
  pass: string;
  insecure: boolean;
  logger: Logger;
}

export interface ArchivedSessionRow {
  id: string;
  label: string;
  studyUid: string;
  subject: string;
}

export interface ArchivedScan {
  id: string;
  seriesUid: string;
  /** DICOM files in the scan's DICOM resource. */
  fileCount: number;
}

export interface PrearchiveRow {
  project: string;
  timestamp: string;
  folderName: string;
  name: string;
  subject: string;
  tag: string;
  status: string;
  /** `/data/prearchive/projects/P/TS/F` (XNAT lists it without /data; this adds it back). */
  uri: string;
  source: string;
  /** Last change, as XNAT prints it (`yyyy-MM-dd HH:mm:ss.S`, server time); '' when not listed. */
  lastmod: string;
  /** XNAT's idle auto-commit skips entries uploaded with prevent_auto_commit=true (xnat-rest-api.md §4). */
  preventAutoCommit: boolean;
}

export interface ImportParams {
  project: string;
  subject: string;
  session: string;
  source: string;
}

export type CommitOutcome = { archived: true; uri: string } | { archived: false; uri: string };

/** Idle time after which the session cookie is checked before a non-repeatable request (XNAT's default timeout is 15 min). */
const HEARTBEAT_AFTER_MS = 5 * 60_000;

/**
 * A small typed XNAT REST client. It logs in once with Basic (password or alias token) and then sends only
 * the JSESSIONID cookie: Basic on every call opens a new server session each time and runs into the per-user
 * session cap (xnat-rest-api.md §1). Redirects are never followed: a commit answers 301 with the archive URI in
 * the body and no Location (§4).
 */
export class XnatClient {
  private readonly http: Got;
  private readonly jar = new SessionCookieJar();
  private readonly options: XnatClientOptions;
  private login?: Promise<void>;
  private lastActivity = 0;
  logins = 0;

  constructor(options: XnatClientOptions) {
    this.options = options;
    this.http = got.extend({
      headers: { 'user-agent': USER_AGENT },
      cookieJar: this.jar,
      followRedirect: false,
      throwHttpErrors: false,
      https: { rejectUnauthorized: !options.insecure },
      timeout: { connect: 30_000, secureConnect: 30_000 },
      retry: {
        limit: 3,
        // Only requests that can be repeated safely; imports and commits are never re-sent blindly.
        methods: ['GET', 'PUT', 'DELETE', 'HEAD'],
        statusCodes: [408, 429, 500, 502, 503, 504],
        errorCodes: ['ETIMEDOUT', 'ECONNRESET', 'EADDRINUSE', 'ECONNREFUSED', 'EPIPE', 'ENETUNREACH', 'EAI_AGAIN'],
      },
    });
  }

  get host(): string {
    return this.options.host;
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

  private async doLogin(): Promise<void> {
    this.jar.clear();
    const url = this.url('/data/JSESSION');
    let response: Response<string>;
    try {
      response = await this.http.get(url, { username: this.options.user, password: this.options.pass, retry: { limit: 2 } });
    } catch (error) {
      throw translateNetworkError(error, 'XNAT', this.options.host);
    }
    this.logins += 1;
    if (response.statusCode === 401 || response.statusCode === 403) {
      throw new XnatHttpError(response.statusCode, 'GET', '/data/JSESSION', `XNAT rejected the credentials of user '${this.options.user}' (${response.statusCode})`, {
        hint: 'check XNAT_USER/XNAT_PASS; an alias token may have expired (they last 2 days by default)',
      });
    }
    // A 404, a redirect or a page without a session cookie: something answers, but not XNAT's REST API.
    if (response.statusCode === 404 || (response.statusCode >= 300 && response.statusCode < 400) || (response.statusCode === 200 && !this.jar.hasSession)) {
      throw new ConnectionError('XNAT', 'ERR_NOT_XNAT', `no XNAT answers at ${this.options.host}; check the base URL (it is the address of the XNAT home page)`);
    }
    if (response.statusCode !== 200 || !this.jar.hasSession) {
      throw new XnatHttpError(response.statusCode, 'GET', '/data/JSESSION', `XNAT login failed (${response.statusCode}): ${xnatErrorMessage(response.body) || 'no session cookie'}`, {
        hint: `is ${this.options.host} the XNAT base URL?`,
      });
    }
    this.lastActivity = Date.now();
    this.options.logger.debug({ user: this.options.user }, 'XNAT session opened');
  }

  /** Sends a request with the session cookie; one expired session is renewed and the request sent again. */
  async request(method: Method, path: string, options: OptionsOfTextResponseBody = {}): Promise<Response<string>> {
    await this.authenticate();
    for (let attempt = 0; ; attempt += 1) {
      let response: Response<string>;
      try {
        response = (await this.http(this.url(path), { ...options, method })) as Response<string>;
      } catch (error) {
        throw translateNetworkError(error, 'XNAT', this.options.host);
      }
      if (attempt === 0 && isSessionExpired(response)) {
        this.options.logger.info('XNAT session expired; logging in again');
        await this.authenticate(true);
        continue;
      }
      this.lastActivity = Date.now();
      return response;
    }
  }

  /** Makes sure the session is alive before a request that cannot be repeated (a streamed import). */
  async keepAlive(): Promise<void> {
    await this.authenticate();
    if (Date.now() - this.lastActivity < HEARTBEAT_AFTER_MS) return;
    await this.request('GET', '/data/JSESSION');
  }

  async projectExists(project: string): Promise<boolean> {
    const response = await this.request('GET', `/data/projects/${encodeURIComponent(project)}`, { searchParams: { format: 'json' } });
    if (response.statusCode === 200) return true;
    // XNAT answers 404 for a project the user cannot read as well as for a missing one (xnat-rest-api.md §1).
    if (response.statusCode === 404) return false;
    throw this.error(response, 'GET', `/data/projects/${project}`);
  }

  async createProject(project: string): Promise<void> {
    const path = `/data/projects/${encodeURIComponent(project)}`;
    const response = await this.request('PUT', path, {
      searchParams: { name: project, secondary_ID: project, description: 'Imported from The Cancer Imaging Archive by xnat-tcia-download' },
    });
    if (response.statusCode === 200 || response.statusCode === 201) return;
    if (response.statusCode === 403) {
      throw new XnatHttpError(403, 'PUT', path, `user '${this.options.user}' may not create project ${project} (403)`, {
        hint: `ask an XNAT administrator to create ${project} and make you an owner or member`,
      });
    }
    if (response.statusCode === 417) {
      throw new XnatHttpError(417, 'PUT', path, `XNAT refused project ID ${project}: ${xnatErrorMessage(response.body)}`, { hint: 'use only letters, digits, _ and -' });
    }
    throw this.error(response, 'PUT', path);
  }

  /** Image sessions in the project with their StudyInstanceUID. */
  async listSessions(project: string): Promise<ArchivedSessionRow[]> {
    const path = `/data/projects/${encodeURIComponent(project)}/experiments`;
    const response = await this.request('GET', path, {
      searchParams: { format: 'json', columns: 'ID,label,subject_label,xnat:imageSessionData/UID' },
    });
    if (response.statusCode === 404) return [];
    if (response.statusCode !== 200) throw this.error(response, 'GET', path);
    return resultSet(response.body).map((row) => ({
      // With extra columns XNAT may rename the id column to session_ID (xnat-rest-tests-behaviours.md §5).
      id: row.ID ?? row.session_ID ?? row['xnat:subjectassessordata/id'] ?? '',
      label: row.label ?? '',
      // UID and studyInstanceUID both map to xnat:imagesessiondata/uid; the header may be either (xnat-rest-api.md §3).
      studyUid: pick(row, (key) => /(^|\/)uid$/i.test(key) || /studyinstanceuid/i.test(key)) ?? '',
      subject: row.subject_label ?? '',
    }));
  }

  /**
   * Scans of an archived session with their SeriesInstanceUID and DICOM file count, from the session document.
   * `session` is an experiment ID or an archive path such as /data/archive/projects/P/subjects/S/experiments/E.
   * Resolves to undefined when the session does not exist.
   */
  async sessionScans(session: string): Promise<{ id: string; scans: ArchivedScan[] } | undefined> {
    const path = session.startsWith('/') ? session : `/data/experiments/${encodeURIComponent(session)}`;
    const response = await this.request('GET', path, { searchParams: { format: 'json' } });
    if (response.statusCode === 404) return undefined;
    if (response.statusCode !== 200) throw this.error(response, 'GET', path);
    const document = sessionDocument(response.body);
    const id = String(document?.data_fields?.ID ?? session);
    const scans: ArchivedScan[] = [];
    for (const item of scanItems(document)) {
      const fields = item.data_fields ?? {};
      const scanId = String(fields.ID ?? '');
      let fileCount = dicomFileCount(item);
      if (fileCount === undefined) fileCount = await this.countScanFiles(id, scanId);
      scans.push({ id: scanId, seriesUid: String(fields.UID ?? ''), fileCount });
    }
    return { id, scans };
  }

  /** One prearchive row, or undefined once the entry is gone (archived or deleted). */
  async prearchiveEntry(prearchiveUri: string): Promise<{ status: string } | undefined> {
    const response = await this.request('GET', prearchiveUri, { searchParams: { format: 'json' } });
    if (response.statusCode === 404) return undefined;
    if (response.statusCode !== 200) throw this.error(response, 'GET', prearchiveUri);
    const row = resultSet(response.body)[0];
    return row ? { status: row.status ?? '' } : undefined;
  }

  /** Scans of a prearchive session with their DICOM file counts (scan IDs are SeriesNumbers, §7). */
  async prearchiveScans(prearchiveUri: string): Promise<{ id: string; fileCount: number }[]> {
    const response = await this.request('GET', `${prearchiveUri}/scans`, { searchParams: { format: 'json' } });
    if (response.statusCode === 404) return [];
    if (response.statusCode !== 200) throw this.error(response, 'GET', `${prearchiveUri}/scans`);
    const scans: { id: string; fileCount: number }[] = [];
    for (const row of resultSet(response.body)) {
      const id = row.ID ?? '';
      const files = await this.request('GET', `${prearchiveUri}/scans/${encodeURIComponent(id)}/resources/DICOM/files`, { searchParams: { format: 'json' } });
      if (files.statusCode !== 200) throw this.error(files, 'GET', `${prearchiveUri}/scans/${id}/resources/DICOM/files`);
      scans.push({ id, fileCount: resultSet(files.body).length });
    }
    return scans;
  }

  private async countScanFiles(sessionId: string, scanId: string): Promise<number> {
    const path = `/data/experiments/${encodeURIComponent(sessionId)}/scans/${encodeURIComponent(scanId)}/resources/DICOM/files`;
    const response = await this.request('GET', path, { searchParams: { format: 'json' } });
    if (response.statusCode === 404) return 0;
    if (response.statusCode !== 200) throw this.error(response, 'GET', path);
    return resultSet(response.body).length;
  }

  async deleteScan(sessionId: string, scanId: string): Promise<void> {
    const path = `/data/experiments/${encodeURIComponent(sessionId)}/scans/${encodeURIComponent(scanId)}`;
    const response = await this.request('DELETE', path, { searchParams: { removeFiles: 'true' } });
    if (response.statusCode !== 200 && response.statusCode !== 404) throw this.error(response, 'DELETE', path);
  }

  async listPrearchive(project: string): Promise<PrearchiveRow[]> {
    const path = `/data/prearchive/projects/${encodeURIComponent(project)}`;
    const response = await this.request('GET', path, { searchParams: { format: 'json' } });
    if (response.statusCode === 404) return [];
    if (response.statusCode !== 200) throw this.error(response, 'GET', path);
    return resultSet(response.body).map((row) => ({
      project: row.project ?? project,
      timestamp: row.timestamp ?? '',
      folderName: row.folderName ?? row.name ?? '',
      name: row.name ?? '',
      subject: row.subject ?? '',
      tag: row.tag ?? '',
      status: row.status ?? '',
      // The listing's url has no /data prefix (xnat-rest-api.md §5).
      uri: withDataPrefix(row.url ?? `/prearchive/projects/${row.project}/${row.timestamp}/${row.folderName}`),
      source: row.SOURCE ?? '',
      lastmod: row.lastmod ?? '',
      preventAutoCommit: (row.prevent_auto_commit ?? '').toLowerCase() === 'true',
    }));
  }

  /**
   * Streams one zip into the import service and returns the prearchive URI. DICOM-zip picks the archive format
   * from the file name, which XNAT derives from Content-Type: application/zip → upload.zip, while octet-stream
   * fails with "Unsupported format UNKNOWN" (xnat-rest-api.md §4, §9.1).
   */
  async importZip(params: ImportParams, body: Readable, signal: AbortSignal): Promise<string> {
    await this.keepAlive();
    const path = '/data/services/import';
    let response: Response<string>;
    try {
      response = await this.http.post(this.url(path), {
        searchParams: {
          'import-handler': 'DICOM-zip',
          PROJECT_ID: params.project,
          SUBJECT_ID: params.subject,
          EXPT_LABEL: params.session,
          overwrite: 'append',
          // Hold the session in the prearchive until we commit it, even on auto-archive projects (§4 auto-commit).
          prevent_auto_commit: 'true',
          SOURCE: params.source,
        },
        headers: { 'content-type': 'application/zip' },
        body,
        retry: { limit: 0 },
        signal,
      });
    } catch (error) {
      throw translateNetworkError(error, 'XNAT', this.options.host);
    }
    this.lastActivity = Date.now();
    if (isSessionExpired(response)) {
      // The body cannot be sent again from here; the series is retried whole after a fresh login.
      this.login = undefined;
      throw new XnatHttpError(401, 'POST', path, 'XNAT session expired during an import', { retryable: true });
    }
    if (response.statusCode !== 200) throw this.error(response, 'POST', path);
    const uri = response.body.trim().split(/\r?\n/)[0] ?? '';
    if (!uri.startsWith('/data/prearchive/') && !uri.startsWith('/data/archive/')) {
      throw new XnatHttpError(200, 'POST', path, `XNAT import answered without a session URI: ${uri.slice(0, 200)}`);
    }
    return uri;
  }

  /**
   * Commits a prearchive session. AA=true archives it whatever the project's prearchive code: a Manual project
   * only builds on a bare commit (xnat-rest-tests-behaviours.md §1). Archived → 301 with the URI in the body.
   */
  async commit(prearchiveUri: string, source: string): Promise<CommitOutcome> {
    const response = await this.request('POST', prearchiveUri, { searchParams: { action: 'commit', AA: 'true', SOURCE: source }, retry: { limit: 0 } });
    if (response.statusCode === 301 || response.statusCode === 302 || response.statusCode === 303) {
      const uri = response.body.trim() || String(response.headers.location ?? '');
      return { archived: true, uri: stripOrigin(uri) };
    }
    if (response.statusCode === 200) return { archived: false, uri: response.body.trim() };
    throw this.error(response, 'POST', prearchiveUri);
  }

  /** Archives a prearchive session through the archive service (used when a commit only built it). */
  async archive(prearchiveUri: string): Promise<string> {
    const src = prearchiveUri.replace(/^\/data/, '');
    const response = await this.request('POST', '/data/services/archive', { searchParams: { src, overwrite: 'append' }, retry: { limit: 0 } });
    // 303 when the session is auto-archive or redirect=true; failures, conflicts included, are 500 "FAILED: …" (§5).
    if (response.statusCode === 200 || response.statusCode === 303 || response.statusCode === 301) {
      return stripOrigin(response.body.trim().split(/\r?\n/)[0] || String(response.headers.location ?? ''));
    }
    throw this.error(response, 'POST', '/data/services/archive');
  }

  async deletePrearchive(prearchiveUri: string): Promise<void> {
    const response = await this.request('DELETE', prearchiveUri);
    if (response.statusCode !== 200 && response.statusCode !== 404) throw this.error(response, 'DELETE', prearchiveUri);
  }

  /**
   * Puts one file into a project resource, replacing any earlier copy. Without overwrite=true a duplicate is
   * not an error but a 200 with {"duplicates":[…]} and the old file kept (xnat-rest-api.md §6, §9.11).
   */
  async putProjectFile(project: string, resource: string, fileName: string, body: Buffer, contentType: string): Promise<void> {
    const path = `/data/projects/${encodeURIComponent(project)}/resources/${encodeURIComponent(resource)}/files/${fileName.split('/').map(encodeURIComponent).join('/')}`;
    const response = await this.request('PUT', path, {
      searchParams: { inbody: 'true', overwrite: 'true', content: resource },
      headers: { 'content-type': contentType },
      body,
    });
    if (response.statusCode !== 200 && response.statusCode !== 201) throw this.error(response, 'PUT', path);
    if (/"duplicates"\s*:\s*\[\s*"/.test(response.body)) {
      throw new XnatHttpError(200, 'PUT', path, `XNAT kept an older ${resource}/${fileName} instead of replacing it`);
    }
  }

  url(path: string): string {
    return `${this.options.host}${path.startsWith('/') ? path : `/${path}`}`;
  }

  error(response: Response<string>, method: string, path: string): XnatHttpError {
    const status = response.statusCode;
    const message = xnatErrorMessage(response.body) || response.statusMessage || 'no message';
    return new XnatHttpError(status, method, path, `XNAT ${method} ${path.split('?')[0]} answered ${status}: ${message}`, {
      retryable: [423, 500, 502, 503, 504].includes(status),
    });
  }
}

/** XNAT signals an expired session with 401, a redirect to the login page, or the login page itself (§0 of the tests file). */
function isSessionExpired(response: Response<string>): boolean {
  if (response.statusCode === 401) return true;
  if (response.statusCode === 302 && /login/i.test(String(response.headers.location ?? ''))) return true;
  return response.statusCode === 200 && response.body.includes('xnat-templates/screens/Login.vm');
}

/** ResultSet rows; every value is a string (xnat-rest-api.md §0). */
function resultSet(body: string): Record<string, string>[] {
  const parsed = JSON.parse(body) as { ResultSet?: { Result?: Record<string, unknown>[] } };
  return (parsed.ResultSet?.Result ?? []).map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v == null ? '' : String(v)])));
}

interface XftItem {
  data_fields?: Record<string, unknown>;
  children?: { field?: string; items?: XftItem[] }[];
}

function sessionDocument(body: string): XftItem | undefined {
  return (JSON.parse(body) as { items?: XftItem[] }).items?.[0];
}

function scanItems(session: XftItem | undefined): XftItem[] {
  return (session?.children ?? []).filter((child) => child.field === 'scans/scan').flatMap((child) => child.items ?? []);
}

function dicomFileCount(scan: XftItem): number | undefined {
  const resources = (scan.children ?? []).filter((child) => child.field === 'file').flatMap((child) => child.items ?? []);
  const dicom = resources.find((r) => String(r.data_fields?.label ?? '').toUpperCase() === 'DICOM');
  const count = dicom?.data_fields?.file_count;
  return count === undefined || count === '' ? undefined : Number(count);
}

function pick(row: Record<string, string>, test: (key: string) => boolean): string | undefined {
  const key = Object.keys(row).find(test);
  return key === undefined ? undefined : row[key];
}

function withDataPrefix(uri: string): string {
  return uri.startsWith('/data/') ? uri : `/data${uri.startsWith('/') ? '' : '/'}${uri}`;
}

function stripOrigin(uri: string): string {
  return uri.replace(/^https?:\/\/[^/]+/, '');
}
