/** The prearchive: listing rows (docs/reference/xnat-rest.md#prearchive), commit and the other routes on entries. */
import { HttpError, type Ctx, type Row, dicomDate, isTrue, javaTimestamp, millisTimestamp, sendError, sendTable, sendUriList } from './html.js';
import { type Overwrite, ArchiveFailure, archiveSession, parseOverwrite } from './archive.js';
import { canEdit } from './projects.js';
import { type PrearcSession, type StoredScan, UNASSIGNED, prearcKey, prearcUri } from './state.js';

const CODE_NAMES: Record<number, string> = { 0: 'Manual', 4: 'AutoArchive', 5: 'AutoArchiveOverwrite' };

/** A listing row; every value a string, `url` without `/data` (DatabaseSession). */
export function prearcRow(s: PrearcSession): Row {
  const scanDate = dicomDate(s.studyDate);
  return {
    project: s.project,
    timestamp: s.timestamp,
    lastmod: javaTimestamp(s.lastmod),
    uploaded: millisTimestamp(s.uploaded),
    scan_date: scanDate ? `${scanDate} 00:00:00.0` : '',
    scan_time: s.studyTime ? s.studyTime.replace(/^(\d{2})(\d{2})(\d{2}).*$/, '$1:$2:$3') : '',
    subject: s.subject,
    folderName: s.folderName,
    name: s.name,
    tag: s.tag,
    status: s.status,
    url: `/prearchive/projects/${s.project}/${s.timestamp}/${s.folderName}`,
    autoarchive: s.autoarchive === undefined ? '' : (CODE_NAMES[s.autoarchive] ?? ''),
    prevent_anon: String(s.preventAnon),
    prevent_auto_commit: String(s.preventAutoCommit),
    SOURCE: s.source,
    VISIT: s.visit,
    PROTOCOL: s.protocol,
    TIMEZONE: '',
  };
}

/** Who may see and change a project's prearchive: project editors; Unassigned is for admins. */
export function canUsePrearchive(ctx: Ctx, project: string): boolean {
  if (project === UNASSIGNED) return ctx.user?.admin === true;
  const p = ctx.state.projects.get(project);
  return p !== undefined && canEdit(ctx, p);
}

/** Builds a RECEIVING entry (SessionXMLRebuilder): it becomes READY. */
export function build(s: PrearcSession): void {
  if (s.status === 'RECEIVING' || s.status === 'BUILDING') s.status = 'READY';
  s.built = true;
  s.lastmod = new Date();
}

/** Whether committing archives: session or project code 4/5, or AA/auto-archive=true (postActionCommit). */
export function autoArchives(ctx: Ctx, s: PrearcSession): boolean {
  const code = ctx.state.projects.get(s.project)?.prearchiveCode;
  return s.autoarchive === 4 || s.autoarchive === 5 || code === 4 || code === 5 || isTrue(ctx.params.AA) || isTrue(ctx.params['auto-archive']);
}

/** Overwrite for an auto-archive: code 5 overwrites, 4 and AA merge without replacing files. */
export function autoOverwrite(ctx: Ctx, s: PrearcSession): Overwrite {
  const code = s.autoarchive === 5 || ctx.state.projects.get(s.project)?.prearchiveCode === 5 ? 'delete' : 'append';
  return parseOverwrite(ctx.params.overwrite, code);
}

/** Archives now, or — when the client is being answered 504 by the late-504 fault — a little later. */
export function runArchive(ctx: Ctx & { lateArchiveDelayMs?: number }, s: PrearcSession, overwrite: Overwrite, onDone: (uri: string) => void): void {
  const p = ctx.state.projects.get(s.project);
  const req = {
    overwrite,
    overwriteFiles: isTrue(ctx.params.overwrite_files),
    subject: ctx.params.subject,
    label: ctx.params.session ?? ctx.params.label,
    canModify: p !== undefined && canEdit(ctx, p),
    user: ctx.user?.username ?? '',
  };
  ctx.state.archiving.add(prearcKey(s));
  s.status = 'ARCHIVING';
  if (ctx.lateArchiveDelayMs !== undefined) {
    // The archive waits in XNAT's queue first (QUEUED_ARCHIVING), then runs (ARCHIVING), then the entry goes
    // (docs/reference/xnat-prearchive.md#background-archives). A second archive of the same study meanwhile
    // races it: whichever finishes second meets "matching files" and is left in CONFLICT.
    s.status = 'QUEUED_ARCHIVING';
    const half = Math.floor(ctx.lateArchiveDelayMs / 2);
    const started = setTimeout(() => {
      if (s.status === 'QUEUED_ARCHIVING') s.status = 'ARCHIVING';
    }, half);
    const t = setTimeout(() => {
      try {
        archiveSession(ctx.state, s, req);
      } catch {
        // The client already got its 504; the entry's status tells what happened.
      }
    }, ctx.lateArchiveDelayMs);
    started.unref();
    t.unref();
    onDone('');
    return;
  }
  onDone(archiveSession(ctx.state, s, req).uri);
}

/** GET/POST/DELETE under `/prearchive`; false when the path is not a prearchive route. */
export function handlePrearchiveRoute(ctx: Ctx): boolean {
  const s = ctx.seg;
  if (s[0] !== 'prearchive') return false;
  if (s.length === 1 || (s.length === 2 && s[1] === 'projects')) {
    if (ctx.method !== 'GET') throw new HttpError(405, 'Method Not Allowed');
    listSessions(ctx, undefined);
    return true;
  }
  if (s[1] !== 'projects') return false;
  if (s.length === 3) {
    if (ctx.method !== 'GET') throw new HttpError(405, 'Method Not Allowed');
    listSessions(ctx, (s[2] as string).split(','));
    return true;
  }
  if (s.length < 5) return false;
  const [project, ts, folder] = [s[2] as string, s[3] as string, s[4] as string];
  const session = ctx.state.findPrearc(project, ts, folder);
  if (!canUsePrearchive(ctx, project)) throw new HttpError(403, `Invalid permissions for project ${project}.`);
  if (!session) throw new HttpError(404, `Unable to find prearchive session ${project}/${ts}/${folder}.`);
  if (s.length > 5) return sessionSubResource(ctx, session, s.slice(5));
  if (ctx.method === 'GET') {
    if (ctx.query.format === 'json' || ctx.query.format === 'csv' || ctx.query.format === 'html') sendTable(ctx, [prearcRow(session)], 'Prearchive');
    else if (!session.built) throw new HttpError(404, 'Unable to locate prearc resource.');
    else ctx.reply(200, sessionXml(session), 'text/xml');
  } else if (ctx.method === 'DELETE') {
    if (ctx.state.archiving.has(prearcKey(session))) throw new HttpError(403, 'Operation already in progress on this prearchive entry.');
    ctx.state.removePrearc(session);
    ctx.reply(200, '', 'text/plain');
  } else if (ctx.method === 'POST') postAction(ctx, session);
  else throw new HttpError(405, 'Method Not Allowed');
  return true;
}

function listSessions(ctx: Ctx, projects: string[] | undefined): void {
  // Filtering by tag is reserved to data admins (docs/reference/xnat-rest.md#permissions).
  if (ctx.query.tag !== undefined && !ctx.user?.admin) throw new HttpError(403, 'Only data admins can search the prearchive by tag.');
  if (projects) for (const p of projects) if (!canUsePrearchive(ctx, p)) throw new HttpError(403, `Invalid permissions for project ${p}.`);
  const rows = ctx.state.prearchive
    .filter((x) => (projects ? projects.includes(x.project) : canUsePrearchive(ctx, x.project)))
    .filter((x) => ctx.query.tag === undefined || x.tag === ctx.query.tag)
    .map(prearcRow);
  sendTable(ctx, rows, 'Prearchive');
}

function postAction(ctx: Ctx, session: PrearcSession): void {
  const action = ctx.params.action;
  if (!action) throw new HttpError(400, 'Missing action parameter.');
  if (action === 'build' || action === 'rebuild') {
    // postActionBuild: the entry must be free to go to BUILDING; the reply is its URI.
    if (ctx.state.archiving.has(prearcKey(session))) throw new HttpError(409, 'session document locked');
    build(session);
    sendUriList(ctx, [prearcUri(session)]);
  } else if (action === 'move') moveSession(ctx, session, ctx.params.newProject, 301);
  else if (action === 'commit') commit(ctx, session);
  else throw new HttpError(400, `Unsupported action ${action}.`);
}

/** `action=move`/`services/prearchive/move`: the entry keeps TS/F, subject and name under the new project. */
export function moveSession(ctx: Ctx, session: PrearcSession, newProject: string | undefined, status: number): void {
  if (!newProject) throw new HttpError(400, 'Missing newProject parameter.');
  const p = ctx.state.findProject(newProject);
  if (!p || !canEdit(ctx, p)) throw new HttpError(403, `Invalid permissions for project ${newProject}.`);
  session.project = p.id;
  session.autoarchive ??= p.prearchiveCode as 0 | 4 | 5;
  session.lastmod = new Date();
  sendUriList(ctx, [prearcUri(session)], status);
}

function commit(ctx: Ctx, session: PrearcSession): void {
  if (ctx.params.SOURCE !== undefined) session.source = ctx.params.SOURCE;
  if (ctx.state.archiving.has(prearcKey(session)) || ctx.faults.takeLock(session.project, session.name, session.tag)) {
    throw new HttpError(423, 'Duplicate archive attempt: the session is already being archived.');
  }
  build(session);
  if (!autoArchives(ctx, session)) {
    // Manual and no AA: nothing is archived; the reply is the prearchive URI.
    sendUriList(ctx, [prearcUri(session)]);
    return;
  }
  try {
    runArchive(ctx, session, autoOverwrite(ctx, session), (uri) => {
      // Archived: 301 with the archive URI as the body and no Location header (PrearcSessionResource.postActionCommit).
      ctx.reply(301, uri, 'text/plain');
    });
  } catch (err) {
    if (!(err instanceof ArchiveFailure)) throw err;
    const status = { conflict: 409, invalid: 400, forbidden: 403, error: 500 }[err.kind];
    sendError(ctx, status, err.message);
  }
}

function sessionSubResource(ctx: Ctx, session: PrearcSession, rest: string[]): boolean {
  if (ctx.method !== 'GET') throw new HttpError(405, 'Method Not Allowed');
  if (rest[0] === 'logs') {
    ctx.reply(200, session.lastMessage, 'text/plain');
    return true;
  }
  if (rest[0] !== 'scans') return false;
  // Read from the session's document, as XNAT does (PrearcSessionResourceA.retrieveSessionBean).
  if (!session.built) throw new HttpError(404, 'Unable to locate prearc resource.');
  const scan = rest[1] === undefined ? undefined : session.scans.find((x) => x.id === rest[1]);
  if (rest.length === 1) {
    sendTable(ctx, session.scans.map((x) => ({ ID: x.id, type: x.seriesDescription, series_description: x.seriesDescription, URI: `${prearcUri(session)}/scans/${x.id}` })), 'Scans');
    return true;
  }
  if (!scan) throw new HttpError(404, `Unable to find scan ${rest[1]}.`);
  const files = rest[2] === 'resources' ? rest.slice(4) : rest.slice(2);
  if (rest[2] === 'resources' && rest[3] !== 'DICOM') throw new HttpError(404, `Unable to find resource ${rest[3]}.`);
  if (files[0] !== 'files') return false;
  if (files.length === 1) {
    sendTable(ctx, [...scan.files.values()].map((f) => ({ Name: f.name, Size: String(f.size), URI: `${prearcUri(session)}/scans/${scan.id}/resources/DICOM/files/${f.name}` })), 'Files');
    return true;
  }
  return sendScanFile(ctx, scan, files.slice(1).join('/'));
}

/** Serves one DICOM file of a scan, or 404 "Unable to find file.". */
export function sendScanFile(ctx: Ctx, scan: StoredScan, name: string): boolean {
  const f = [...scan.files.values()].find((x) => x.name === name);
  if (!f) throw new HttpError(404, 'Unable to find file.');
  ctx.reply(200, f.bytes, 'application/dicom');
  return true;
}

function sessionXml(s: PrearcSession): string {
  const scans = s.scans.map((x) => `<xnat:scan ID="${x.id}" UID="${x.seriesInstanceUid}"/>`).join('');
  return `<?xml version="1.0" encoding="UTF-8"?><xnat:imageSessionData label="${s.name}" project="${s.project}" UID="${s.tag}" xmlns:xnat="http://nrg.wustl.edu/xnat"><xnat:scans>${scans}</xnat:scans></xnat:imageSessionData>`;
}
