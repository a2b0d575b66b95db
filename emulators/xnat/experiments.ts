/** Subjects, experiments, scans and scan files of the archive (docs/reference/xnat-rest.md#experiments, docs/reference/xnat-rest.md#scans-and-files). */
import { createHash } from 'node:crypto';
import { HttpError, type Ctx, type Row, mediaType, millisTimestamp, sendTable } from './html.js';
import { LABEL_RE, scanXsiType } from './dicom.js';
import { filterRows, listExperiments } from './experiment-list.js';
import { canDelete, canEdit, canRead, readableProject } from './projects.js';
import { sendScanFile } from './prearchive.js';
import { bytesOf, scanResource, scanResources, type ScanResource } from './scan-resources.js';
import { shareExperiment, shareSubject } from './sharing.js';
import type { Experiment, Project, StoredScan, Subject } from './state.js';

/** Routes under `/projects/P/subjects...`, `/projects/P/experiments...` and `/experiments...`. */
export function handleExperimentRoute(ctx: Ctx): boolean {
  const s = ctx.seg;
  if (s[0] === 'experiments') {
    if (s.length === 1) {
      if (ctx.method !== 'GET') throw new HttpError(405, 'Method Not Allowed');
      const projects = [...ctx.state.projects.values()].filter((p) => canRead(ctx, p));
      listExperiments(ctx, ctx.state.experiments.filter((e) => projects.some((p) => p.id === e.project)));
      return true;
    }
    const e = ctx.state.experimentById(s[1] as string);
    const p = e ? ctx.state.projects.get(e.project) : undefined;
    if (!e || !p || !canRead(ctx, p)) throw new HttpError(404, `Unable to find experiment ${s[1]}.`);
    return experimentRoute(ctx, p, e, s.slice(2));
  }
  if (s[0] !== 'projects' || s.length < 3) return false;
  if (s[2] !== 'subjects' && s[2] !== 'experiments') return false;
  const p = readableProject(ctx, s[1] as string, `Unable to identify project ${s[1]}`);
  if (s[2] === 'experiments') {
    if (s.length === 3) {
      if (ctx.method !== 'GET') throw new HttpError(405, 'Method Not Allowed');
      listExperiments(ctx, ctx.state.experimentsIn(p.id), p.id);
      return true;
    }
    const e = ctx.state.findExperiment(p.id, s[3] as string);
    if (!e) throw new HttpError(404, `Unable to find experiment ${s[3]}.`);
    return experimentRoute(ctx, p, e, s.slice(4));
  }
  if (s.length === 3) {
    if (ctx.method !== 'GET') throw new HttpError(405, 'Method Not Allowed');
    const rows = ctx.state.subjects
      .filter((x) => x.project === p.id)
      .map((x) => ({ ID: x.id, project: x.project, label: x.label, insert_date: millisTimestamp(x.insertDate), insert_user: x.insertUser, URI: `/data/subjects/${x.id}` }));
    sendTable(ctx, filterRows(ctx, rows), 'Subjects');
    return true;
  }
  const subjectRef = s[3] as string;
  let subject = ctx.state.findSubject(p.id, subjectRef);
  // ExperimentResource finds the experiment by project and label alone: the subject in the path is not looked at,
  // so an archive URI naming the owner's label of a subject shared into the project still answers.
  const byLabel = s.length >= 6 && s[4] === 'experiments' ? ctx.state.findExperiment(p.id, s[5] as string) : undefined;
  if (byLabel) return experimentRoute(ctx, p, byLabel, s.slice(6));
  if (s.length === 4) {
    if (ctx.method === 'PUT') {
      if (!canEdit(ctx, p)) throw new HttpError(403, `Specified user account has insufficient create privileges for subjects in the ${p.id} project.`);
      if (subject) ctx.reply(200, subject.id, 'text/plain');
      else {
        subject = { id: ctx.state.nextSubjectId(), project: p.id, label: subjectRef, insertDate: new Date(), insertUser: ctx.user?.username ?? '' };
        ctx.state.subjects.push(subject);
        ctx.reply(201, subject.id, 'text/plain');
      }
      return true;
    }
    if (!subject) throw new HttpError(404, `Unable to find subject ${subjectRef}.`);
    if (ctx.method !== 'GET') throw new HttpError(405, 'Method Not Allowed');
    const doc = { items: [{ children: [], meta: { isHistory: false, 'xsi:type': 'xnat:subjectData' }, data_fields: { ID: subject.id, label: subject.label, project: p.id } }] };
    ctx.reply(200, JSON.stringify(doc), 'application/json');
    return true;
  }
  if (!subject) throw new HttpError(404, `Unable to find subject ${subjectRef}.`);
  if (ctx.method === 'PUT' && s[4] === 'projects' && s.length === 6) return shareSubject(ctx, subject, s[5] as string);
  if (s[4] !== 'experiments') return false;
  const sid = subject.id;
  if (s.length === 5) {
    if (ctx.method !== 'GET') throw new HttpError(405, 'Method Not Allowed');
    listExperiments(ctx, ctx.state.experiments.filter((e) => e.project === p.id && e.subjectId === sid));
    return true;
  }
  const e = ctx.state.experiments.find((x) => x.project === p.id && x.subjectId === sid && (x.label === s[5] || x.id === s[5]));
  if (!e && ctx.method === 'PUT' && s.length === 6) return putExperiment(ctx, p, subject, s[5] as string);
  if (!e) throw new HttpError(404, `Unable to find experiment ${s[5]}.`);
  return experimentRoute(ctx, p, e, s.slice(6));
}

/**
 * `PUT /data/projects/P/subjects/S/experiments/E?xsiType=T`: a new experiment without data, such as a non-image
 * subject assessment (ExperimentResource). A label the project already uses names that experiment instead.
 */
function putExperiment(ctx: Ctx, p: Project, subject: Subject, label: string): boolean {
  if (!canEdit(ctx, p)) throw new HttpError(403, 'Specified user account has insufficient create privileges for experiments in this project.');
  const xsiType = ctx.query.xsiType;
  if (!xsiType) throw new HttpError(417, 'Need PUT Contents');
  if (!LABEL_RE.test(label)) throw new HttpError(417, 'Invalid character in experiment label.');
  const held = ctx.state.findExperiment(p.id, label);
  if (held) {
    ctx.reply(200, held.id, 'text/plain');
    return true;
  }
  const id = ctx.state.nextExperimentId();
  ctx.state.experiments.push({
    id, project: p.id, subjectId: subject.id, label, xsiType, studyInstanceUid: '', modality: '', date: ctx.query.date ?? '', time: '',
    insertDate: new Date(), insertUser: ctx.user?.username ?? '', scans: [],
  });
  ctx.reply(201, id, 'text/plain');
  return true;
}

/** DELETE of a scan (ScanResource, with removeFiles) or of one file of its DICOM resource (FileList). */
function deleteFromScan(ctx: Ctx, p: Project, e: Experiment, rest: string[]): boolean {
  if (!canEdit(ctx, p)) throw new HttpError(403, `Specified user account has insufficient delete privileges for experiments in the ${p.id} project.`);
  const scan = e.scans.find((x) => x.id === rest[1]);
  if (!scan) throw new HttpError(404, 'Unable to find the specified scan.');
  if (rest.length === 2) {
    // ScanResource.handleDelete asks Permissions.canDelete: a Member may add scans but not remove them.
    if (!canDelete(ctx, p)) throw new HttpError(403, "User account doesn't have permission to modify this session.");
    e.scans = e.scans.filter((x) => x !== scan);
  } else if (rest[2] === 'resources' && rest[4] === 'files' && rest.length === 6) {
    const resource = scanResource(scan, rest[3] as string);
    const entry = resource && [...scan.files].find(([, f]) => f.name === rest[5] && resource.files.includes(f));
    if (!entry) throw new HttpError(404, 'Unable to find file.');
    scan.files.delete(entry[0]);
  } else {
    throw new HttpError(405, 'Method Not Allowed');
  }
  ctx.reply(200, '', 'text/plain');
  return true;
}

function experimentRoute(ctx: Ctx, via: Project, e: Experiment, rest: string[]): boolean {
  // Rights over the data are the owning project's, whichever project the path names (docs/reference/xnat-rest.md#shared-experiments).
  const p = ctx.state.projects.get(e.project) ?? via;
  if (ctx.method === 'PUT' && rest[0] === 'projects' && rest.length === 2) return shareExperiment(ctx, e, rest[1] as string);
  if (rest.length === 0) {
    if (ctx.method === 'GET') sendSessionDocument(ctx, e);
    else if (ctx.method === 'DELETE') {
      if (!canDelete(ctx, p)) throw new HttpError(403, `Specified user account has insufficient delete privileges for experiments in the ${p.id} project.`);
      ctx.state.removeExperiment(e);
      ctx.reply(200, '', 'text/plain');
    } else throw new HttpError(405, 'Method Not Allowed');
    return true;
  }
  if (ctx.method === 'DELETE' && rest[0] === 'scans' && rest.length >= 2) return deleteFromScan(ctx, p, e, rest);
  if (ctx.method !== 'GET') throw new HttpError(405, 'Method Not Allowed');
  if (rest[0] !== 'scans') return false;
  if (rest.length === 1) {
    const rows = e.scans.map((x) => ({
      xnat_imagescandata_id: String(x.catId),
      ID: x.id,
      type: x.seriesDescription,
      series_description: x.seriesDescription,
      quality: 'usable',
      xsiType: scanXsiType(x.modality),
      note: '',
      URI: `/data/experiments/${e.id}/scans/${x.id}`,
    }));
    sendTable(ctx, rows, 'Scans');
    return true;
  }
  const scan = e.scans.find((x) => x.id === rest[1]);
  if (!scan) throw new HttpError(404, `Unable to find scan ${rest[1]}.`);
  if (rest.length === 2) {
    ctx.reply(200, JSON.stringify({ items: [scanItem(scan, e)] }), 'application/json');
    return true;
  }
  let files: string[];
  let resources = scanResources(scan);
  if (rest[2] === 'resources') {
    if (rest.length === 3) {
      sendTable(ctx, resources.map((r) => resourceRow(scan, r)), 'Resources');
      return true;
    }
    const named = scanResource(scan, rest[3] as string);
    if (!named) throw new HttpError(404, `Unable to find resource ${rest[3]}.`);
    resources = [named];
    files = rest.slice(4);
  } else files = rest.slice(2);
  if (files[0] !== 'files') return false;
  if (files.length === 1) {
    const rows = resources.flatMap((r) =>
      r.files.map((f) => ({
        Name: f.name,
        Size: String(f.size),
        URI: `/data/experiments/${e.id}/scans/${scan.id}/resources/${r.catId}/files/${f.name}`,
        collection: r.label,
        file_tags: '',
        file_format: 'DICOM',
        file_content: r.content,
        cat_ID: String(r.catId),
        digest: createHash('md5').update(f.bytes).digest('hex'),
      })),
    );
    sendTable(ctx, rows, 'Files');
    return true;
  }
  const name = files.slice(1).join('/');
  if (!resources.some((r) => r.files.some((f) => f.name === name))) throw new HttpError(404, 'Unable to find file.');
  return sendScanFile(ctx, scan, name);
}

function resourceRow(scan: StoredScan, r: ScanResource): Row {
  return {
    xnat_abstractresource_id: String(r.catId),
    label: r.label,
    element_name: 'xnat:resourceCatalog',
    category: 'scans',
    cat_id: scan.id,
    cat_desc: '',
    file_count: String(r.files.length),
    file_size: String(bytesOf(r.files)),
    tags: '',
    content: r.content,
    format: 'DICOM',
  };
}

function scanItem(scan: StoredScan, e: Experiment): Record<string, unknown> {
  return {
    children: [
      {
        field: 'file',
        items: scanResources(scan).map((r) => ({
          children: [],
          meta: { isHistory: false, 'xsi:type': 'xnat:resourceCatalog' },
          data_fields: { label: r.label, format: 'DICOM', content: r.content, file_count: r.files.length, file_size: bytesOf(r.files), xnat_abstractresource_id: r.catId },
        })),
      },
    ],
    meta: { isHistory: false, 'xsi:type': scanXsiType(scan.modality) },
    data_fields: {
      ID: scan.id,
      UID: scan.seriesInstanceUid,
      type: scan.seriesDescription,
      series_description: scan.seriesDescription,
      modality: scan.modality,
      image_session_ID: e.id,
      xnat_imagescandata_id: scan.catId,
    },
  };
}

/** The session document; `format=json` (or Accept JSON) gives the items form, otherwise a small XML. */
function sendSessionDocument(ctx: Ctx, e: Experiment): void {
  const fmt = mediaType(ctx, 'xml');
  if (fmt === 'json') {
    const children = e.scans.length ? [{ field: 'scans/scan', items: e.scans.map((x) => scanItem(x, e)) }] : [];
    // data_fields.project stays the owner; each share is a child (xnat:experimentData_share).
    const shares = (e.shares ?? []).map(({ project, label }) => ({ children: [], meta: { isHistory: false, 'xsi:type': 'xnat:experimentData_share' }, data_fields: { project, label } }));
    if (shares.length > 0) children.push({ field: 'sharing/share', items: shares });
    const doc = {
      items: [
        {
          children,
          meta: { isHistory: false, 'xsi:type': e.xsiType },
          data_fields: { ID: e.id, label: e.label, project: e.project, subject_ID: e.subjectId, UID: e.studyInstanceUid, modality: e.modality, date: e.date, time: e.time },
        },
      ],
    };
    ctx.reply(200, JSON.stringify(doc), 'application/json');
    return;
  }
  const scans = e.scans.map((x) => `<xnat:scan ID="${x.id}" UID="${x.seriesInstanceUid}" type="${x.seriesDescription}" xsi:type="${scanXsiType(x.modality)}"/>`).join('');
  ctx.reply(
    200,
    `<?xml version="1.0" encoding="UTF-8"?><${e.xsiType} ID="${e.id}" label="${e.label}" project="${e.project}" UID="${e.studyInstanceUid}" xmlns:xnat="http://nrg.wustl.edu/xnat" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><xnat:date>${e.date}</xnat:date><xnat:modality>${e.modality}</xnat:modality><xnat:subject_ID>${e.subjectId}</xnat:subject_ID><xnat:scans>${scans}</xnat:scans></${e.xsiType}>`,
    'text/xml',
  );
}
