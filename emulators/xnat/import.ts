/** The import service, POST /data/services/import (docs/reference/xnat-rest.md#import-service): DICOM-zip, gradual-DICOM and SI. */
import { Readable } from 'node:stream';
import { HttpError, type Ctx, isTrue, readAll, sendError, sendUriList } from './html.js';
import { type DicomHeader, cleanDicomLabel, containedAssignment, readDicomHeader } from './dicom.js';
import { ArchiveFailure, archiveSession, parseOverwrite } from './archive.js';
import { parseMultipart } from './multipart.js';
import { autoArchives, autoOverwrite, build } from './prearchive.js';
import { type Routing, receiveFile } from './receive.js';
import { canEdit, canRead } from './projects.js';
import { type PrearcSession, UNASSIGNED, prearcUri } from './state.js';
import { readTarBuffer, readZipBuffer, readZipStream } from './zip.js';

/** Raw bodies with these types are the file; the name decides the archive format (RequestUtil). */
const UPLOAD_NAMES: Record<string, string> = {
  'application/zip': 'upload.zip',
  'application/x-tar': 'upload.tar',
  'application/x-gtar': 'upload.tar.gz',
  'application/dicom': 'upload.dcm',
  'application/octet-stream': 'upload',
};
const HANDLERS = new Set(['DICOM-zip', 'gradual-DICOM', 'SI']);

interface Dest {
  kind: 'archive' | 'prearchive';
  project?: string;
  subject?: string;
  experiment?: string;
  timestamp?: string;
  folder?: string;
}

interface Upload {
  name: string;
  /** Raw bodies stream; multipart bodies are already whole. */
  stream?: Readable;
  data?: Buffer;
}

export async function handleImport(ctx: Ctx): Promise<void> {
  if (ctx.method !== 'POST') throw new HttpError(405, 'Method Not Allowed');
  const type = (ctx.req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  const explicit = ctx.params['import-handler'];
  const handler = explicit ?? (type === 'application/dicom' ? 'gradual-DICOM' : 'DICOM-zip');
  if (!HANDLERS.has(handler)) {
    await drain(ctx.body);
    throw new HttpError(404, `Unknown importer implementation specified: ${handler}`);
  }
  const upload = await findUpload(ctx, type);
  if (!upload) {
    if (ctx.params.src) throw new HttpError(400, 'Imports from src= (user cache) are not emulated.');
    throw new HttpError(400, 'Unable to identify upload format.');
  }
  const dest = parseDest(ctx.params.dest);
  const listener = ctx.params['http-session-listener'];
  try {
    const uris =
      handler === 'gradual-DICOM' ? await gradual(ctx, upload, dest) : handler === 'SI' ? await sessionImporter(ctx, upload, dest) : await dicomZip(ctx, upload, dest);
    if (listener) ctx.state.listeners.set(listener, { status: 'COMPLETED', message: uris.join(','), username: ctx.user?.username ?? '' });
    sendUriList(ctx, uris);
  } catch (err) {
    if (listener) ctx.state.listeners.set(listener, { status: 'FAILED', message: (err as Error).message, username: ctx.user?.username ?? '' });
    throw err;
  }
}

/** The one uploaded file: a raw body on the upload list or with inbody=true, or exactly one multipart file. */
async function findUpload(ctx: Ctx, type: string): Promise<Upload | undefined> {
  if (type === 'multipart/form-data') {
    // inbody with multipart is rejected with 406, and a follow-on NPE makes it a 500 (docs/reference/xnat-rest.md#import-service).
    if (isTrue(ctx.params.inbody)) throw new HttpError(500, 'Internal Server Error');
    const parts = parseMultipart(await readAll(ctx.body), ctx.req.headers['content-type'] ?? '');
    for (const p of parts) if (p.filename === undefined) ctx.params[p.name] ??= p.data.toString('utf8');
    const files = parts.filter((p) => p.filename !== undefined);
    if (files.length > 1) throw new HttpError(400, 'Importer is limited to one uploaded resource at a time.');
    const f = files[0];
    return f ? { name: f.filename as string, data: f.data } : undefined;
  }
  const name = UPLOAD_NAMES[type];
  if (name !== undefined || isTrue(ctx.params.inbody)) return { name: name ?? 'upload', stream: ctx.body };
  await drain(ctx.body);
  return undefined;
}

function parseDest(dest: string | undefined): Dest | undefined {
  if (!dest) return undefined;
  const s = dest.replace(/^\/data(?=\/)/, '').split('/').filter(Boolean).map(decodeURIComponent);
  if (s[0] === 'archive' && (s.length === 1 || s[1] === 'projects')) {
    if (s.length > 2 && s[3] !== 'subjects') throw new HttpError(400, `Invalid destination ${dest}`);
    return { kind: 'archive', project: s[2], subject: s[4], experiment: s[6] };
  }
  if (s[0] === 'prearchive' && (s.length === 1 || s[1] === 'projects')) {
    return { kind: 'prearchive', project: s[2], timestamp: s[3], folder: s[4] };
  }
  throw new HttpError(400, `Invalid destination ${dest}`);
}

/** Identifiers for one object (docs/reference/xnat-rest.md#labels, docs/reference/xnat-rest.md#gradual-dicom); `gradual` reads only PROJECT_ID, SUBJECT_ID and EXPT_LABEL. */
function routingFor(ctx: Ctx, h: DicomHeader, dest: Dest | undefined, handler: string): Routing {
  const p = ctx.params;
  const gradual = handler === 'gradual-DICOM';
  const asked = (gradual ? p.PROJECT_ID : (p.project ?? p.PROJECT_ID)) ?? dest?.project;
  // The project is resolved with a read check only; an unknown or unreadable one falls back silently.
  let project = readable(ctx, asked);
  if (!project) {
    const candidates = [containedAssignment(h, 'Project'), h.studyDescription, h.accessionNumber];
    project = candidates.map((c) => readable(ctx, c)).find((x) => x !== undefined) ?? UNASSIGNED;
  }
  const subject =
    (gradual ? p.SUBJECT_ID : (p.subject ?? p.SUBJECT_ID)) ?? dest?.subject ?? containedAssignment(h, 'Subject') ?? cleanDicomLabel(h.patientName);
  const label =
    (gradual ? p.EXPT_LABEL : (p.session ?? p.EXPT_LABEL)) ??
    dest?.experiment ??
    dest?.folder ??
    containedAssignment(h, 'Session') ??
    (h.patientId ? cleanDicomLabel(h.patientId) : 'dicom_upload');
  const aa = p.AA ?? p['auto-archive'] ?? containedAssignment(h, 'AA');
  return {
    project,
    subject,
    label,
    timestamp: dest?.kind === 'prearchive' && dest.project === project ? dest.timestamp : undefined,
    folder: dest?.kind === 'prearchive' && dest.project === project && dest.timestamp ? dest.folder : undefined,
    autoarchive: aa === undefined ? undefined : isTrue(aa) ? 4 : 0,
    preventAnon: isTrue(p.prevent_anon),
    preventAutoCommit: isTrue(p.prevent_auto_commit),
    source: p.SOURCE ?? '',
    visit: p.VISIT ?? '',
    rename: isTrue(p.rename),
    // 1.8.10+: DICOM-zip refuses a different StudyInstanceUID in an existing prearchive session.
    refuseOtherStudy: handler === 'DICOM-zip' && ctx.state.version === '1.9',
  };
}

function readable(ctx: Ctx, id: string | undefined): string | undefined {
  if (!id) return undefined;
  const p = ctx.state.findProject(id);
  return p && canRead(ctx, p) ? p.id : undefined;
}

/** Parses one entry; undefined when skipped as unparsable. */
function parseEntry(ctx: Ctx, name: string, bytes: Buffer): DicomHeader | undefined {
  const h = readDicomHeader(bytes);
  if (!h) {
    if (isTrue(ctx.params['Ignore-Unparsable'])) return undefined;
    throw new HttpError(400, `unable to read DICOM object ${name}`);
  }
  if (!h.sopInstanceUid || !h.sopClassUid) throw new HttpError(400, `object ${name} contains no SOP Instance UID`);
  return h;
}

/** DicomZipImporter: each entry goes to the prearchive as soon as it has arrived. */
async function dicomZip(ctx: Ctx, upload: Upload, dest: Dest | undefined): Promise<string[]> {
  const format = archiveFormat(upload.name);
  if (format === 'UNKNOWN') {
    if (upload.stream) await drain(upload.stream);
    throw new HttpError(400, 'Unsupported format UNKNOWN');
  }
  const seen = new Map<PrearcSession, Set<string>>();
  const sink = (name: string, bytes: Buffer): void => {
    // Nested archives are unpacked.
    if (/\.(zip|zar)$/i.test(name)) return readZipBuffer(bytes, sink);
    if (/\.(tar|xar)$/i.test(name)) return readTarBuffer(bytes, false, sink);
    if (/\.(tgz|tar\.gz)$/i.test(name)) return readTarBuffer(bytes, true, sink);
    const h = parseEntry(ctx, name, bytes);
    if (h && !ctx.state.site.excludeModalities.includes(h.modality)) receiveFile(ctx.state, ctx.faults, routingFor(ctx, h, dest, 'DICOM-zip'), h, name, bytes, seen);
  };
  if (format === 'zip') await readZipStream(upload.stream ?? Readable.from([upload.data as Buffer]), sink);
  else readTarBuffer(upload.data ?? (await readAll(upload.stream as Readable)), format === 'tgz', sink);
  return finishSessions(ctx, [...seen.keys()], dest, 'DICOM-zip');
}

/** GradualDicomImporter: one object per request. */
async function gradual(ctx: Ctx, upload: Upload, dest: Dest | undefined): Promise<string[]> {
  const bytes = upload.data ?? (await readAll(upload.stream as Readable));
  const h = parseEntry(ctx, upload.name, bytes);
  if (!h) return [];
  // One object per request has no archive entry name to keep: files are named by the DicomFileNamer.
  const routing = { ...routingFor(ctx, h, dest, 'gradual-DICOM'), rename: true };
  const session = receiveFile(ctx.state, ctx.faults, routing, h, upload.name, bytes, new Map());
  return [prearcUri(session)];
}

/** SessionImporter (deprecated): reads everything first, skips unparsable files, one study per upload. */
async function sessionImporter(ctx: Ctx, upload: Upload, dest: Dest | undefined): Promise<string[]> {
  const data = upload.data ?? (await readAll(upload.stream as Readable));
  const objects: [string, Buffer, DicomHeader][] = [];
  const sink = (name: string, bytes: Buffer): void => {
    if (/\.(zip|zar)$/i.test(name)) return readZipBuffer(bytes, sink);
    const h = readDicomHeader(bytes);
    if (h && h.sopInstanceUid) objects.push([name, bytes, h]);
  };
  const format = archiveFormat(upload.name);
  if (format === 'zip') await readZipStream(Readable.from([data]), sink);
  else if (format === 'tar' || format === 'tgz') readTarBuffer(data, format === 'tgz', sink);
  else sink(upload.name, data);
  if (objects.length === 0) throw new HttpError(400, 'Upload did not include parsable files for session generation.');
  if (new Set(objects.map(([, , h]) => h.studyInstanceUid)).size > 1 && dest?.kind !== 'prearchive') {
    throw new HttpError(400, 'Upload included files for multiple imaging sessions.');
  }
  const seen = new Map<PrearcSession, Set<string>>();
  for (const [name, bytes, h] of objects) {
    const r = { ...routingFor(ctx, h, dest, 'SI'), rename: false };
    receiveFile(ctx.state, ctx.faults, r, h, name, bytes, seen);
  }
  return finishSessions(ctx, [...seen.keys()], dest, 'SI');
}

/** Builds, commits or archives what an upload produced, and returns the URIs to reply with. */
function finishSessions(ctx: Ctx, sessions: PrearcSession[], dest: Dest | undefined, handler: 'DICOM-zip' | 'SI'): string[] {
  const commit = ctx.params.action === 'commit';
  const uris: string[] = [];
  for (const s of sessions) {
    if (!dest && !commit && handler === 'DICOM-zip') {
      // Without dest the session stays RECEIVING and the reply is its prearchive URI.
      uris.push(prearcUri(s));
      continue;
    }
    build(s);
    // SI archives inline when dest is an archive URI, the project code is 4 or 5, or AA=true.
    const archive = dest?.kind === 'archive' || ((commit || handler === 'SI') && dest?.kind !== 'prearchive' && autoArchives(ctx, s));
    if (!archive) {
      uris.push(prearcUri(s));
      continue;
    }
    // DICOM-zip with an archive dest always merges; otherwise `overwrite` (or the project code) decides.
    const overwrite = handler === 'DICOM-zip' && dest?.kind === 'archive' ? parseOverwrite(ctx.params.overwrite, 'append') : autoOverwrite(ctx, s);
    const p = ctx.state.projects.get(s.project);
    try {
      const label = ctx.params.session ?? ctx.params.EXPT_LABEL;
      const subject = ctx.params.subject ?? ctx.params.SUBJECT_ID;
      const done = archiveSession(ctx.state, s, {
        overwrite: handler === 'SI' ? parseOverwrite(ctx.params.overwrite, 'none') : overwrite,
        overwriteFiles: isTrue(ctx.params.overwrite_files),
        subject,
        label,
        canModify: p !== undefined && canEdit(ctx, p),
        user: ctx.user?.username ?? '',
      });
      uris.push(done.uri);
    } catch (err) {
      if (!(err instanceof ArchiveFailure)) throw err;
      // SI answers a conflict with a true 409; DICOM-zip turns every archive failure into this 400.
      if (handler === 'SI') throw new HttpError(err.kind === 'conflict' ? 409 : 400, err.message);
      throw new HttpError(400, 'unable to archive for the Prearchive session');
    }
  }
  return uris;
}

function archiveFormat(name: string): 'zip' | 'tar' | 'tgz' | 'UNKNOWN' {
  if (/\.(zip|zar)$/i.test(name)) return 'zip';
  if (/\.(tar|xar)$/i.test(name)) return 'tar';
  if (/\.(tgz|tar\.gz)$/i.test(name)) return 'tgz';
  return 'UNKNOWN';
}

async function drain(body: Readable): Promise<void> {
  try {
    for await (const _chunk of body) void _chunk;
  } catch {
    // A broken upload is answered by the caller anyway.
  }
}

/** `/data/status/{id}`: progress of an import that named an `http-session-listener`. */
export function handleStatus(ctx: Ctx): boolean {
  if (ctx.seg[0] !== 'status' || ctx.seg.length !== 2) return false;
  const l = ctx.state.listeners.get(ctx.seg[1] as string);
  if (!l || l.username !== ctx.user?.username) {
    sendError(ctx, 404, 'Unable to find the specified status listener.');
    return true;
  }
  ctx.reply(200, JSON.stringify({ msgs: [[{ status: l.status, msg: l.message }]] }), 'application/json');
  return true;
}
