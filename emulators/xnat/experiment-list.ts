/**
 * The ProjSubExptList listing of a project's experiments, with its columns, filters and root element
 * (docs/reference/xnat-rest.md#experiment-labels).
 */
import { type Ctx, type Row, millisTimestamp, sendTable } from './html.js';
import { labelIn } from './sharing.js';
import type { Experiment } from './state.js';

/** Shortcut keys that stand for an xnat:imageSessionData field (XMLPathShortcuts). */
const IMAGE_SESSION_SHORTCUTS = new Set(['uid', 'studyinstanceuid', 'scanner', 'operator', 'dcmaccessionnumber', 'dcmpatientid', 'dcmpatientname', 'session_type', 'modality']);

/** Whether an xsi:type is an image session (xnat:imageSessionData or one of its extensions, xnat:mrSessionData...). */
export function isImageSession(xsiType: string): boolean {
  return /sessiondata$/i.test(xsiType);
}

/**
 * The element the query is rooted at, as QueryOrganizerResource.getRootElementName picks it: the default
 * (xnat:subjectAssessorData, every experiment) unless a column or filter names a field of an extension of it.
 * Only image-session fields are modelled; undefined means the default root.
 */
function rootElement(ctx: Ctx): string | undefined {
  const fields = [...Object.keys(ctx.query), ...(ctx.query.columns?.split(',') ?? [])];
  let root: string | undefined;
  for (const field of fields) {
    const key = field.toLowerCase();
    const element = key.includes('/') ? key.split('/')[0]! : IMAGE_SESSION_SHORTCUTS.has(key) ? 'xnat:imagesessiondata' : undefined;
    if (element && isImageSession(element) && (root === undefined || root === 'xnat:imagesessiondata')) root = element;
  }
  return root;
}

function inRoot(e: Experiment, root: string | undefined): boolean {
  if (root === undefined) return true;
  return root === 'xnat:imagesessiondata' ? isImageSession(e.xsiType) : e.xsiType.toLowerCase() === root;
}

/**
 * The ProjSubExptList rows; `columns=` selects columns (plus ID and URI) and xpath names are lower-cased. Listed
 * under a project (`project`), an experiment shared into it shows its label there and that project.
 */
export function listExperiments(ctx: Ctx, list: Experiment[], project?: string): void {
  const root = rootElement(ctx);
  const rows = filterRows(ctx, list.filter((e) => inRoot(e, root)).map((e) => experimentRow(ctx, e, project)));
  const columns = ctx.query.columns?.split(',').filter(Boolean);
  if (!columns || columns[0] === 'DEFAULT') {
    sendTable(ctx, rows.map(({ UID: _uid, ...rest }) => rest), 'Experiments');
    return;
  }
  const selected = rows.map((r) => {
    const out: Row = { ID: r.ID as string };
    for (const c of columns) out[c.includes('/') ? c.toLowerCase() : c] = lookup(r, c);
    out.URI = r.URI as string;
    return out;
  });
  sendTable(ctx, selected, 'Experiments');
}

function experimentRow(ctx: Ctx, e: Experiment, project = e.project): Row {
  const subject = ctx.state.subjectById(e.subjectId);
  // The owner's label, but for an experiment shared into the project the label its subject's share has there
  // (ProjSubExptList): a project's own experiment under another project's subject keeps that project's label.
  const shared = project !== e.project ? subject?.shares?.find((x) => x.project === project)?.label : undefined;
  return {
    ID: e.id,
    project,
    date: e.date,
    xsiType: e.xsiType,
    'xnat:subjectassessordata/id': e.id,
    label: labelIn(e, project),
    insert_date: millisTimestamp(e.insertDate),
    URI: `/data/experiments/${e.id}`,
    subject_label: shared || (subject?.label ?? ''),
    subject_ID: e.subjectId,
    UID: e.studyInstanceUid,
  };
}

/** `UID`, `studyInstanceUID` and `xnat:imageSessionData/UID` all name xnat:imagesessiondata/uid (XMLPathShortcuts). */
function lookup(r: Row, key: string): string {
  const k = key.toLowerCase();
  if (k === 'uid' || k === 'studyinstanceuid' || k.endsWith('/uid')) return r.UID ?? '';
  if (k.endsWith('/id')) return r.ID ?? '';
  if (k.endsWith('/label')) return r.label ?? '';
  if (k.endsWith('/project')) return r.project ?? '';
  if (k.endsWith('/date')) return r.date ?? '';
  if (k === 'subject_label' || k.endsWith('subjectdata/label')) return r.subject_label ?? '';
  const hit = Object.keys(r).find((x) => x.toLowerCase() === k);
  return hit ? (r[hit] ?? '') : '';
}

/** Shortcut and xpath filters with `*` wildcards (QueryOrganizerResource). */
export function filterRows(ctx: Ctx, rows: Row[]): Row[] {
  const skip = new Set(['format', 'columns', 'all', 'sortBy', 'sortOrder', 'limit', 'offset', 'xsiType', 'stats', 'file_stats']);
  const filters = Object.entries(ctx.query).filter(([k]) => !skip.has(k));
  const known = /^(uid|studyinstanceuid|label|id|project|date|subject_label|.*\/(uid|label|id|project|date))$/i;
  let out = rows.filter((r) =>
    filters.every(([k, v]) => {
      if (!known.test(k)) return true;
      const re = new RegExp(`^${v.split('*').map((x) => x.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
      return re.test(lookup(r, k));
    }),
  );
  if (ctx.query.xsiType) out = out.filter((r) => (r.xsiType ?? '').toLowerCase() === (ctx.query.xsiType as string).toLowerCase());
  return out;
}

