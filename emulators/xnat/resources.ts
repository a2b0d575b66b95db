/** Project resources and their files (docs/reference/xnat-rest.md#project-resources). */
import { createHash } from 'node:crypto';
import { HttpError, type Ctx, isTrue, readAll, sendTable } from './html.js';
import { parseMultipart } from './multipart.js';
import { canEdit, readableProject } from './projects.js';
import type { Project, ProjectResource } from './state.js';
import { readZipBuffer } from './zip.js';

/** Routes under `/projects/P/resources`; false when the path is not one. */
export async function handleResourceRoute(ctx: Ctx): Promise<boolean> {
  const s = ctx.seg;
  if (s[0] !== 'projects' || s[2] !== 'resources') return false;
  const p = readableProject(ctx, s[1] as string, 'Unable to find the specified experiment.');
  if (s.length === 3) {
    if (ctx.method !== 'GET') throw new HttpError(405, 'Method Not Allowed');
    sendTable(ctx, [...p.resources.values()].map(resourceRow), 'Resources');
    return true;
  }
  const label = s[3] as string;
  let res = p.resources.get(label);
  if (s.length === 4) {
    if (ctx.method === 'PUT' || ctx.method === 'POST') {
      requireEdit(ctx, p);
      if (res) throw new HttpError(409, 'Specified resource already exists.');
      createResource(ctx, p, label);
      ctx.reply(200, '', 'text/plain');
    } else if (ctx.method === 'DELETE') {
      requireEdit(ctx, p);
      if (!res) throw new HttpError(404, 'Unable to find the specified resource.');
      p.resources.delete(label);
      ctx.reply(200, '', 'text/plain');
    } else if (ctx.method === 'GET') {
      if (!res) throw new HttpError(404, 'Unable to find the specified resource.');
      sendTable(ctx, [resourceRow(res)], 'Resources');
    } else throw new HttpError(405, 'Method Not Allowed');
    return true;
  }
  if (s[4] !== 'files') return false;
  const path = s.slice(5).join('/');
  if (ctx.method === 'GET') {
    if (!res) throw new HttpError(404, 'Unable to find the specified resource.');
    // Only the resource's own `files` lists; a folder path is no file, so 404 (docs/reference/xnat-records.md#resource-files-and-listings).
    if (path === '') listFiles(ctx, p, res, path);
    else {
      const bytes = res.files.get(path);
      if (!bytes) throw new HttpError(404, 'Unable to find file.');
      ctx.reply(200, bytes, 'application/octet-stream');
    }
    return true;
  }
  if (ctx.method === 'DELETE') {
    requireEdit(ctx, p);
    const r = res;
    const hits = r ? [...r.files.keys()].filter((k) => k === path || k.startsWith(`${path}/`)) : [];
    if (!r || hits.length === 0) throw new HttpError(404, 'Unable to find file.');
    for (const k of hits) r.files.delete(k);
    ctx.reply(200, '', 'text/plain');
    return true;
  }
  if (ctx.method !== 'PUT' && ctx.method !== 'POST') throw new HttpError(405, 'Method Not Allowed');
  requireEdit(ctx, p);
  const incoming = await uploadedFiles(ctx, path);
  res ??= createResource(ctx, p, label);
  const duplicates: string[] = [];
  for (const [name, bytes] of incoming) {
    if (res.files.has(name) && !isTrue(ctx.params.overwrite)) duplicates.push(name);
    else res.files.set(name, bytes);
  }
  // A duplicate without overwrite=true is not an error: 200 with the list, as text/html (FileList).
  if (duplicates.length > 0) ctx.reply(200, JSON.stringify({ duplicates }), 'text/html');
  else ctx.reply(200, '', 'text/plain');
  return true;
}

function requireEdit(ctx: Ctx, p: Project): void {
  if (!canEdit(ctx, p)) throw new HttpError(403, `Specified user account has insufficient edit privileges for project ${p.id}.`);
}

function createResource(ctx: Ctx, p: Project, label: string): ProjectResource {
  const res: ProjectResource = {
    id: ctx.state.nextCatalogId(),
    label,
    format: ctx.params.format && ctx.params.format !== 'json' ? ctx.params.format : '',
    content: ctx.params.content ?? '',
    description: ctx.params.description ?? '',
    tags: ctx.params.tags ?? '',
    files: new Map(),
  };
  p.resources.set(label, res);
  return res;
}

/** The body as files: raw (`inbody=true` or a non-form body) or multipart; `extract=true` unpacks a zip. */
async function uploadedFiles(ctx: Ctx, path: string): Promise<[string, Buffer][]> {
  const type = ctx.req.headers['content-type'] ?? '';
  const body = await readAll(ctx.body);
  let files: [string, Buffer][];
  if (/^multipart\/form-data/i.test(type) && !isTrue(ctx.params.inbody)) {
    const parts = parseMultipart(body, type).filter((x) => x.filename !== undefined);
    if (parts.length === 0) throw new HttpError(400, 'No content provided.');
    files = parts.map((x) => [path && parts.length === 1 ? path : joinPath(path, x.filename as string), x.data]);
  } else {
    if (!path) throw new HttpError(400, 'A file name is required for an in-body upload.');
    files = [[path, body]];
  }
  if (files.some(([, b]) => b.length === 0)) throw new HttpError(400, 'No content provided.');
  if (!isTrue(ctx.params.extract)) return files;
  const out: [string, Buffer][] = [];
  for (const [name, bytes] of files) {
    if (!/\.zip$/i.test(name)) out.push([name, bytes]);
    else readZipBuffer(bytes, (entry, data) => out.push([joinPath(name.includes('/') ? name.slice(0, name.lastIndexOf('/')) : '', entry), data]));
  }
  return out;
}

function joinPath(dir: string, name: string): string {
  return dir ? `${dir.replace(/\/$/, '')}/${name}` : name;
}

function listFiles(ctx: Ctx, p: Project, res: ProjectResource, prefix: string): void {
  const recursive = ctx.query.recursive !== 'false';
  const rows = [...res.files.entries()]
    .filter(([k]) => k.startsWith(prefix) && (recursive || !k.slice(prefix.length).includes('/')))
    .map(([name, bytes]) => ({
      Name: name.split('/').pop() as string,
      Size: String(bytes.length),
      URI: `/data/projects/${p.id}/resources/${res.label}/files/${name}`,
      collection: res.label,
      file_tags: '',
      file_format: '',
      file_content: '',
      cat_ID: String(res.id),
      digest: createHash('md5').update(bytes).digest('hex'),
    }));
  sendTable(ctx, rows, 'Files');
}

function resourceRow(r: ProjectResource): Record<string, string> {
  let size = 0;
  for (const b of r.files.values()) size += b.length;
  return {
    xnat_abstractresource_id: String(r.id),
    label: r.label,
    element_name: 'xnat:resourceCatalog',
    category: 'resources',
    cat_id: String(r.id),
    cat_desc: r.description,
    file_count: String(r.files.size),
    file_size: String(size),
    tags: r.tags,
    content: r.content,
    format: r.format,
  };
}
