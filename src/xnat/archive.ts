import type { XnatSession } from './session.js';
import { dicomFileCount, pick, resultSet, scanItems, sessionDocument, stripOrigin } from './result-set.js';
import { scanDicomFiles } from './scan-files.js';

export interface ArchivedSessionRow {
  id: string;
  label: string;
  studyUid: string;
  /** The subject's label as the listing gives it: for a subject another project owns, the owner's label. */
  subject: string;
  /** The subject's accession ID, which XNAT resolves from any project (docs/reference/xnat-rest.md#shared-experiments). */
  subjectId?: string;
}

export interface ArchivedScan {
  id: string;
  seriesUid: string;
  /** DICOM files of the scan: its DICOM and secondary resources together (docs/reference/xnat-rest.md#scan-resources). */
  fileCount: number;
}

/** Image sessions in the project with their StudyInstanceUID. */
export async function listSessions(xnat: XnatSession, project: string): Promise<ArchivedSessionRow[]> {
  const path = `/data/projects/${encodeURIComponent(project)}/experiments`;
  const response = await xnat.request('GET', path, {
    searchParams: { format: 'json', columns: 'ID,label,subject_label,subject_ID,xnat:imageSessionData/UID' },
  });
  if (response.statusCode === 404) return [];
  if (response.statusCode !== 200) throw xnat.error(response, 'GET', path);
  return resultSet(response.body).map((row) => ({
    // With extra columns XNAT may rename the id column to session_ID (docs/reference/xnat-rest.md#experiments).
    id: row.ID ?? row.session_ID ?? row['xnat:subjectassessordata/id'] ?? '',
    // The label column is named after its shortcut, which the same renaming could turn into its xpath.
    label: row.label ?? row.session_label ?? pick(row, (key) => /^xnat:\w*(experiment|session)data\/label$/i.test(key)) ?? '',
    // UID and studyInstanceUID both map to xnat:imagesessiondata/uid; the header may be either (docs/reference/xnat-rest.md#experiments).
    studyUid: pick(row, (key) => /(^|\/)uid$/i.test(key) || /studyinstanceuid/i.test(key)) ?? '',
    subject: row.subject_label ?? '',
    subjectId: row.subject_ID || pick(row, (key) => /subjectassessordata\/subject_id$/i.test(key)) || undefined,
  }));
}

/**
 * Labels of every experiment in the project, image session or not. listSessions cannot give them: its xpath column
 * roots XNAT's query at xnat:imageSessionData, which leaves out forms and other non-image experiments whose labels
 * an archive still collides with (docs/reference/xnat-rest.md#experiment-labels).
 */
export async function listExperimentLabels(xnat: XnatSession, project: string): Promise<string[]> {
  const path = `/data/projects/${encodeURIComponent(project)}/experiments`;
  const response = await xnat.request('GET', path, { searchParams: { format: 'json', columns: 'ID,label' } });
  if (response.statusCode === 404) return [];
  if (response.statusCode !== 200) throw xnat.error(response, 'GET', path);
  return resultSet(response.body).map((row) => row.label ?? '').filter(Boolean);
}

/**
 * Scans of an archived session with their SeriesInstanceUID and DICOM file count, from the session document, and
 * the project that owns it (`project`; a session shared into another project keeps its owner's,
 * docs/reference/xnat-rest.md#shared-experiments).
 * `session` is an experiment ID or an archive path such as /data/archive/projects/P/subjects/S/experiments/E.
 * Resolves to undefined when the session does not exist.
 */
export async function sessionScans(xnat: XnatSession, session: string): Promise<{ id: string; project: string; scans: ArchivedScan[] } | undefined> {
  const path = session.startsWith('/') ? session : `/data/experiments/${encodeURIComponent(session)}`;
  const response = await xnat.request('GET', path, { searchParams: { format: 'json' } });
  if (response.statusCode === 404) return undefined;
  if (response.statusCode !== 200) throw xnat.error(response, 'GET', path);
  const document = sessionDocument(response.body);
  const id = String(document?.data_fields?.ID ?? session);
  const scans: ArchivedScan[] = [];
  for (const item of scanItems(document)) {
    const fields = item.data_fields ?? {};
    const scanId = String(fields.ID ?? '');
    let fileCount = dicomFileCount(item);
    if (fileCount === undefined) fileCount = await countScanFiles(xnat, id, scanId);
    scans.push({ id: scanId, seriesUid: String(fields.UID ?? ''), fileCount });
  }
  return { id, project: String(document?.data_fields?.project ?? ''), scans };
}

async function countScanFiles(xnat: XnatSession, sessionId: string, scanId: string): Promise<number> {
  return (await scanDicomFiles(xnat, `/data/experiments/${encodeURIComponent(sessionId)}/scans/${encodeURIComponent(scanId)}`)).length;
}

export async function deleteScan(xnat: XnatSession, sessionId: string, scanId: string): Promise<void> {
  const path = `/data/experiments/${encodeURIComponent(sessionId)}/scans/${encodeURIComponent(scanId)}`;
  const response = await xnat.request('DELETE', path, { searchParams: { removeFiles: 'true' } });
  if (response.statusCode !== 200 && response.statusCode !== 404) throw xnat.error(response, 'DELETE', path);
}

/** Archives a prearchive session through the archive service (used when a commit only built it). */
export async function archive(xnat: XnatSession, prearchiveUri: string, subject?: string): Promise<string> {
  const src = prearchiveUri.replace(/^\/data/, '');
  const searchParams = { src, overwrite: 'append', ...(subject ? { subject } : {}) };
  const response = await xnat.request('POST', '/data/services/archive', { searchParams, retry: { limit: 0 } });
  // 303 when the session is auto-archive or redirect=true; failures, conflicts included, are 500 "FAILED: …"
  // (docs/reference/xnat-rest.md#archive-service).
  if (response.statusCode === 200 || response.statusCode === 303 || response.statusCode === 301) {
    return stripOrigin(response.body.trim().split(/\r?\n/)[0] || String(response.headers.location ?? ''));
  }
  throw xnat.error(response, 'POST', '/data/services/archive');
}
