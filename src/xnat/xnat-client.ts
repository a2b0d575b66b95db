import type { Readable } from 'node:stream';
import type { Method, OptionsOfTextResponseBody, Response } from 'got';
import type { XnatHttpError } from '../errors.js';
import { archive, deleteScan, listExperimentLabels, listSessions, sessionScans, type ArchivedScan, type ArchivedSessionRow } from './archive.js';
import { importZip, type ImportParams } from './import.js';
import { buildPrearchive, commit, deletePrearchive, listPrearchive, prearchiveEntry, prearchiveScans, type CommitOutcome, type PrearchiveRow, type PrearchiveScan } from './prearchive.js';
import { createProject, projectId } from './projects.js';
import { putProjectFile } from './resources.js';
import { XnatSession, type XnatClientOptions } from './session.js';

export type { ArchivedScan, ArchivedSessionRow, CommitOutcome, ImportParams, PrearchiveRow, XnatClientOptions };

/**
 * The typed XNAT client the pipeline uses: one object over one login (session.ts), delegating each kind of
 * work to its module: projects, import, prearchive, archive, project resources.
 */
export class XnatClient {
  private readonly session: XnatSession;

  constructor(options: XnatClientOptions) {
    this.session = new XnatSession(options);
  }

  get host(): string {
    return this.session.options.host;
  }

  /** Logs in (once; concurrent callers share the attempt). */
  authenticate(force = false): Promise<void> {
    return this.session.authenticate(force);
  }

  /** Sends a request with the session cookie; one expired session is renewed and the request sent again. */
  request(method: Method, path: string, options: OptionsOfTextResponseBody = {}): Promise<Response<string>> {
    return this.session.request(method, path, options);
  }

  /** Makes sure the session is alive before a request that cannot be repeated (a streamed import). */
  keepAlive(): Promise<void> {
    return this.session.keepAlive();
  }

  /** The project's real ID (its name may be an alias), or undefined when XNAT shows no such project. */
  projectId(name: string): Promise<string | undefined> {
    return projectId(this.session, name);
  }

  createProject(project: string): Promise<void> {
    return createProject(this.session, project);
  }

  listSessions(project: string): Promise<ArchivedSessionRow[]> {
    return listSessions(this.session, project);
  }

  listExperimentLabels(project: string): Promise<string[]> {
    return listExperimentLabels(this.session, project);
  }

  sessionScans(session: string): Promise<{ id: string; project: string; scans: ArchivedScan[] } | undefined> {
    return sessionScans(this.session, session);
  }

  prearchiveEntry(prearchiveUri: string): Promise<{ status: string } | undefined> {
    return prearchiveEntry(this.session, prearchiveUri);
  }

  buildPrearchive(prearchiveUri: string, source: string): Promise<void> {
    return buildPrearchive(this.session, prearchiveUri, source);
  }

  prearchiveScans(prearchiveUri: string): Promise<PrearchiveScan[]> {
    return prearchiveScans(this.session, prearchiveUri);
  }

  deleteScan(sessionId: string, scanId: string): Promise<void> {
    return deleteScan(this.session, sessionId, scanId);
  }

  listPrearchive(project: string): Promise<PrearchiveRow[]> {
    return listPrearchive(this.session, project);
  }

  importZip(params: ImportParams, body: Readable, signal: AbortSignal): Promise<string> {
    return importZip(this.session, params, body, signal);
  }

  commit(prearchiveUri: string, source: string, subject?: string): Promise<CommitOutcome> {
    return commit(this.session, prearchiveUri, source, subject);
  }

  archive(prearchiveUri: string, subject?: string): Promise<string> {
    return archive(this.session, prearchiveUri, subject);
  }

  deletePrearchive(prearchiveUri: string): Promise<void> {
    return deletePrearchive(this.session, prearchiveUri);
  }

  putProjectFile(project: string, resource: string, fileName: string, body: Buffer, contentType: string): Promise<void> {
    return putProjectFile(this.session, project, resource, fileName, body, contentType);
  }

  url(path: string): string {
    return this.session.url(path);
  }

  error(response: Response<string>, method: string, path: string): XnatHttpError {
    return this.session.error(response, method, path);
  }
}
