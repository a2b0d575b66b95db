/** `/data/services/archive`, `/data/services/prearchive/*` and version probes. */
import { HttpError, type Ctx, isTrue, sendError, sendUriList } from './html.js';
import { ArchiveFailure, parseOverwrite } from './archive.js';
import { build, canUsePrearchive, moveSession, runArchive } from './prearchive.js';
import { type PrearcSession, UNASSIGNED, prearcKey } from './state.js';

const VERSIONS = { '1.8': '1.8.9', '1.9': '1.9.1' } as const;

export function handleServiceRoute(ctx: Ctx): boolean {
  const s = ctx.seg;
  if (s[0] === 'version' && s.length === 1) {
    ctx.reply(200, VERSIONS[ctx.state.version], 'text/plain');
    return true;
  }
  if (s[0] === 'xapi' && s[1] === 'siteConfig' && s[2] === 'buildInfo') {
    const version = VERSIONS[ctx.state.version];
    if (s[3] === 'version') ctx.reply(200, version, 'text/plain');
    else ctx.reply(200, JSON.stringify({ version, buildNumber: 'emulator' }), 'application/json');
    return true;
  }
  if (s[0] !== 'services') return false;
  if (s[1] === 'archive' && s.length === 2) {
    if (ctx.method !== 'POST') throw new HttpError(405, 'Method Not Allowed');
    archiveService(ctx);
    return true;
  }
  if (s[1] === 'prearchive' && s.length === 3) {
    if (ctx.method !== 'POST') throw new HttpError(405, 'Method Not Allowed');
    const session = fromSrc(ctx);
    if (s[2] === 'move') moveSession(ctx, session, ctx.params.newProject, 200);
    else if (s[2] === 'rebuild') {
      build(session);
      sendUriList(ctx, [`/data${srcPath(ctx)}`]);
    } else if (s[2] === 'delete') {
      if (ctx.state.archiving.has(prearcKey(session))) throw new HttpError(403, 'Operation already in progress on this prearchive entry.');
      ctx.state.removePrearc(session);
      ctx.reply(200, '', 'text/plain');
    } else throw new HttpError(404, `Unknown prearchive operation ${s[2]}`);
    return true;
  }
  return false;
}

function srcPath(ctx: Ctx): string {
  const src = ctx.params.src;
  if (!src) throw new HttpError(400, 'Missing src parameter.');
  // `src` works with or without the `/data` prefix.
  return src.replace(/^\/data(?=\/)/, '').replace(/\/$/, '');
}

function fromSrc(ctx: Ctx): PrearcSession {
  const m = /^\/prearchive\/projects\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(srcPath(ctx));
  if (!m) throw new HttpError(400, `Invalid src ${ctx.params.src}`);
  const [project, ts, folder] = [m[1] as string, m[2] as string, m[3] as string];
  if (!canUsePrearchive(ctx, project)) throw new HttpError(403, `Invalid permissions for project ${project}.`);
  const session = ctx.state.findPrearc(project, ts, folder);
  if (!session) throw new HttpError(404, `Unable to find prearchive session ${project}/${ts}/${folder}.`);
  return session;
}

/** Archiver + QueueBasedImageCommit: 200 uri-list, 303 when redirected, 500 "FAILED: ..." on any failure. */
function archiveService(ctx: Ctx): void {
  const session = fromSrc(ctx);
  if (session.project === UNASSIGNED) throw new HttpError(400, 'Sessions in the Unassigned project cannot be archived.');
  if (ctx.state.archiving.has(prearcKey(session)) || ctx.faults.takeLock(session.project, session.name, session.tag)) {
    throw new HttpError(403, 'Operation already in progress on this prearchive entry.');
  }
  applyOverrides(ctx);
  if (ctx.params.SOURCE !== undefined) session.source = ctx.params.SOURCE;
  // The session-level code is checked first: an AutoArchive session redirects whatever auto-archive says.
  const redirect = isTrue(ctx.params.redirect) || session.autoarchive === 4 || session.autoarchive === 5;
  try {
    runArchive(ctx, session, parseOverwrite(ctx.params.overwrite, 'none'), (uri) => {
      if (redirect) sendUriList(ctx, [uri], 303, { Location: `${ctx.siteUrl}${uri}` });
      else sendUriList(ctx, [uri]);
    });
  } catch (err) {
    if (!(err instanceof ArchiveFailure)) throw err;
    sendError(ctx, 500, `FAILED: ${err.message}`);
  }
}

/** `dest=/archive/projects/P/subjects/S/experiments/E` and xpaths such as `xnat:mrSessionData/label`. */
function applyOverrides(ctx: Ctx): void {
  const p = ctx.params;
  for (const [k, v] of Object.entries(p)) {
    if (/^xnat:\w+SessionData\/label$/i.test(k)) p.label ??= v;
    if (/^xnat:\w+SessionData\/subject_ID$/i.test(k)) p.subject ??= v;
  }
  const m = /^(?:\/data)?\/archive\/projects\/[^/]+(?:\/subjects\/([^/]+)(?:\/experiments\/([^/]+))?)?\/?$/.exec(p.dest ?? '');
  if (m) {
    if (m[1]) p.subject ??= decodeURIComponent(m[1]);
    if (m[2]) p.label ??= decodeURIComponent(m[2]);
  }
}
