/** Projects: permissions, listing, documents, creation, prearchive codes. */
import { HttpError, type Ctx, type Row, escapeHtml, mediaType, sendTable } from './html.js';
import type { Project } from './state.js';

export type Role = 'admin' | 'owner' | 'member' | 'collaborator' | undefined;

/** The caller's role; the read-only fault demotes anyone to collaborator. */
export function roleOf(ctx: Pick<Ctx, 'user' | 'faults'>, p: Project): Role {
  const u = ctx.user;
  if (!u) return undefined;
  if (ctx.faults.isReadOnly(u.username, p.id)) return 'collaborator';
  if (u.admin) return 'admin';
  if (p.owners.has(u.username)) return 'owner';
  if (p.members.has(u.username)) return 'member';
  if (p.collaborators.has(u.username)) return 'collaborator';
  // ALL_DATA_ADMIN's field mappings give create, edit and delete on every project's data (init_security_000.sql).
  if (u.allDataAdmin) return 'admin';
  return undefined;
}

export function canRead(ctx: Pick<Ctx, 'user' | 'faults'>, p: Project): boolean {
  return roleOf(ctx, p) !== undefined;
}

/** Edit rights on session data: Owner or Member (PrearcUtils.canModify); collaborators are read-only. */
export function canEdit(ctx: Pick<Ctx, 'user' | 'faults'>, p: Project): boolean {
  const r = roleOf(ctx, p);
  return r === 'admin' || r === 'owner' || r === 'member';
}

/** Delete rights on session data (scans, experiments): Owners only, Members have none (docs/reference/xnat-rest.md#project-group-rights). */
export function canDelete(ctx: Pick<Ctx, 'user' | 'faults'>, p: Project): boolean {
  const r = roleOf(ctx, p);
  return r === 'admin' || r === 'owner';
}

/** Edit rights on the project itself (xnat:projectData): Owners only. */
export function canManage(ctx: Pick<Ctx, 'user' | 'faults'>, p: Project): boolean {
  const r = roleOf(ctx, p);
  return r === 'admin' || r === 'owner';
}

/** A readable project or a 404: unreadable projects look absent (DefaultUserProjectCache.get). */
export function readableProject(ctx: Ctx, id: string, message: string): Project {
  const p = ctx.state.findProject(id);
  if (!p || !canRead(ctx, p)) throw new HttpError(404, message);
  return p;
}

/** Routes under `/projects` that concern the project itself; false when not one of them. */
export async function handleProjectRoute(ctx: Ctx): Promise<boolean> {
  const s = ctx.seg;
  if (s[0] !== 'projects') return false;
  if (s.length === 1) {
    if (ctx.method === 'GET') listProjects(ctx);
    else if (ctx.method === 'POST') throw new HttpError(400, 'Project XML documents are not emulated; use PUT /data/projects/{ID}.');
    else throw new HttpError(405, 'Method Not Allowed');
    return true;
  }
  const id = s[1] as string;
  if (s.length === 2) {
    if (ctx.method === 'GET') getProject(ctx, id);
    else if (ctx.method === 'PUT') putProject(ctx, id);
    else if (ctx.method === 'DELETE') deleteProject(ctx, id);
    else throw new HttpError(405, 'Method Not Allowed');
    return true;
  }
  if (s[2] === 'prearchive_code' && s.length <= 4) {
    const p = readableProject(ctx, id, 'Unable to find the specified experiment.');
    if (ctx.method === 'GET' && s.length === 3) ctx.reply(200, String(p.prearchiveCode), 'text/plain');
    else if (ctx.method === 'PUT' && s.length === 4) {
      if (!canManage(ctx, p)) throw new HttpError(403, 'Specified user account has insufficient edit privileges for this project.');
      // XNAT's own suite shows codes 4, 0 and 11 all accepted: there is no validation.
      const code = Number.parseInt(s[3] as string, 10);
      if (Number.isNaN(code)) throw new HttpError(400, `Invalid prearchive code ${s[3]}`);
      p.prearchiveCode = code;
      ctx.reply(200, '', 'text/plain');
    } else throw new HttpError(405, 'Method Not Allowed');
    return true;
  }
  return false;
}

function listProjects(ctx: Ctx): void {
  const q = ctx.query;
  const rows: Row[] = [];
  for (const p of ctx.state.projects.values()) {
    const r = roleOf(ctx, p);
    if (!r) continue;
    if ((q.restrict === 'edit' || q.restrict === 'delete') && r !== 'admin' && r !== 'owner') continue;
    if (q.owner === 'true' && r !== 'owner' && r !== 'admin') continue;
    if (q.member === 'true' && r !== 'member') continue;
    rows.push({
      ID: p.id,
      secondary_ID: p.secondaryId,
      name: p.name,
      description: p.description,
      pi_firstname: '',
      pi_lastname: '',
      URI: `/data/projects/${p.id}`,
    });
  }
  sendTable(ctx, rows, 'Projects');
}

function getProject(ctx: Ctx, id: string): void {
  // Missing or unreadable: ProjectResource's message really says "experiment" (docs/reference/xnat-rest.md#projects).
  const p = readableProject(ctx, id, 'Unable to find the specified experiment.');
  const fmt = mediaType(ctx, 'xml');
  if (fmt === 'json') {
    const doc = {
      items: [
        {
          children: p.alias.length
            ? [{ field: 'aliases/alias', items: p.alias.map((a) => ({ meta: { 'xsi:type': 'xnat:projectData_alias' }, data_fields: { alias: a } })) }]
            : [],
          meta: { isHistory: false, 'xsi:type': 'xnat:projectData' },
          data_fields: { ID: p.id, name: p.name, secondary_ID: p.secondaryId, description: p.description },
        },
      ],
    };
    ctx.reply(200, JSON.stringify(doc), 'application/json');
    return;
  }
  if (fmt !== 'xml') throw new HttpError(415, `Unsupported media type for a project: ${fmt}`);
  const xml =
    `<?xml version="1.0" encoding="UTF-8"?>\n<xnat:Project ID="${escapeHtml(p.id)}" secondary_ID="${escapeHtml(p.secondaryId)}" ` +
    `xmlns:xnat="http://nrg.wustl.edu/xnat"><xnat:name>${escapeHtml(p.name)}</xnat:name>` +
    `<xnat:description>${escapeHtml(p.description)}</xnat:description></xnat:Project>`;
  ctx.reply(200, xml, 'text/xml');
}

function param(ctx: Ctx, name: string): string | undefined {
  return ctx.params[name] ?? ctx.params[`xnat:projectData/${name}`];
}

function putProject(ctx: Ctx, id: string): void {
  const user = ctx.user;
  if (!user) throw new HttpError(401, 'Unauthorized');
  const existing = ctx.state.projects.get(id);
  const fields = {
    name: param(ctx, 'name'),
    secondaryId: param(ctx, 'secondary_ID'),
    description: param(ctx, 'description'),
    alias: param(ctx, 'alias')?.split(',').filter(Boolean),
    accessibility: ctx.params.accessibility,
  };
  if (existing) {
    if (!canManage(ctx, existing)) throw new HttpError(403, 'Specified user account has insufficient edit privileges for this project.');
    conflictCheck(ctx, id, fields, existing);
    if (fields.name) existing.name = fields.name;
    if (fields.secondaryId) existing.secondaryId = fields.secondaryId;
    if (fields.description !== undefined) existing.description = fields.description;
    if (fields.alias) existing.alias = fields.alias;
    ctx.reply(200, '', 'text/plain');
    return;
  }
  if (!user.admin && !user.canCreateProjects) throw new HttpError(403, 'User account does not have permission to create projects.');
  if (!/^[A-Za-z0-9_-]+$/.test(id)) throw new HttpError(417, 'Invalid character in project ID.');
  if ([...ctx.state.deletedProjects].some((d) => d.toUpperCase() === id.toUpperCase())) {
    throw new HttpError(403, `Project ${id} was deleted and its ID cannot be reused.`);
  }
  conflictCheck(ctx, id, fields, undefined);
  const p = ctx.state.createProject(id, ctx.state.defaultPrearchiveCode, {
    name: fields.name,
    secondaryId: fields.secondaryId,
    description: fields.description,
    alias: fields.alias,
    accessibility: fields.accessibility,
  });
  p.owners.add(user.username);
  ctx.reply(200, '', 'text/plain');
}

/** ID, name, secondary_ID and aliases must not collide, case-insensitively, with another project's. */
function conflictCheck(
  ctx: Ctx,
  id: string,
  f: { name?: string; secondaryId?: string; alias?: string[] },
  self: Project | undefined,
): void {
  const mine = new Set(
    [id, f.name ?? self?.name ?? id, f.secondaryId ?? self?.secondaryId ?? id, ...(f.alias ?? self?.alias ?? [])].map((v) =>
      v.toUpperCase(),
    ),
  );
  const clashes: string[] = [];
  for (const p of ctx.state.projects.values()) {
    if (p === self) continue;
    const theirs = [p.id, p.name, p.secondaryId, ...p.alias].map((v) => v.toUpperCase());
    if (theirs.some((v) => mine.has(v))) clashes.push(p.id);
  }
  if (clashes.length > 0) throw new HttpError(409, `Requested new project conflicts with existing projects: ${clashes.join(', ')}`);
}

function deleteProject(ctx: Ctx, id: string): void {
  const p = readableProject(ctx, id, 'Unable to find the specified experiment.');
  if (!canManage(ctx, p)) throw new HttpError(403, 'Specified user account has insufficient privileges to delete this project.');
  ctx.state.projects.delete(p.id);
  ctx.state.deletedProjects.add(p.id);
  for (const e of ctx.state.experiments.filter((x) => x.project === p.id)) ctx.state.removeExperiment(e);
  ctx.reply(200, '', 'text/plain');
}
