import type { XnatSession } from './session.js';
import { resultSet, stripOrigin, withDataPrefix } from './result-set.js';
import { scanDicomFiles } from './scan-files.js';

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
  /** XNAT's idle auto-commit skips entries uploaded with prevent_auto_commit=true (docs/reference/xnat-rest.md#auto-commit). */
  preventAutoCommit: boolean;
}

export type CommitOutcome = { archived: true; uri: string } | { archived: false; uri: string };

export async function listPrearchive(xnat: XnatSession, project: string): Promise<PrearchiveRow[]> {
  const path = `/data/prearchive/projects/${encodeURIComponent(project)}`;
  const response = await xnat.request('GET', path, { searchParams: { format: 'json' } });
  if (response.statusCode === 404) return [];
  if (response.statusCode !== 200) throw xnat.error(response, 'GET', path);
  return resultSet(response.body).map((row) => ({
    project: row.project ?? project,
    timestamp: row.timestamp ?? '',
    folderName: row.folderName ?? row.name ?? '',
    name: row.name ?? '',
    subject: row.subject ?? '',
    tag: row.tag ?? '',
    status: row.status ?? '',
    // The listing's url has no /data prefix (docs/reference/xnat-rest.md#prearchive).
    uri: withDataPrefix(row.url ?? `/prearchive/projects/${row.project}/${row.timestamp}/${row.folderName}`),
    source: row.SOURCE ?? '',
    lastmod: row.lastmod ?? '',
    preventAutoCommit: (row.prevent_auto_commit ?? '').toLowerCase() === 'true',
  }));
}

/** One prearchive row, or undefined once the entry is gone (archived or deleted). */
export async function prearchiveEntry(xnat: XnatSession, prearchiveUri: string): Promise<{ status: string } | undefined> {
  const response = await xnat.request('GET', prearchiveUri, { searchParams: { format: 'json' } });
  if (response.statusCode === 404) return undefined;
  if (response.statusCode !== 200) throw xnat.error(response, 'GET', prearchiveUri);
  const row = resultSet(response.body)[0];
  return row ? { status: row.status ?? '' } : undefined;
}

/**
 * Builds a prearchive session: XNAT writes the session's document, which its scan listing is read from. An upload
 * without `dest` leaves a session RECEIVING and unbuilt, and XNAT answers its scan listing 404 until a build
 * (docs/reference/xnat-prearchive.md#scan-listings). The build runs within the request; XNAT then sets the status
 * from what it found (READY, or CONFLICT against the archive).
 */
export async function buildPrearchive(xnat: XnatSession, prearchiveUri: string, source: string): Promise<void> {
  const response = await xnat.request('POST', prearchiveUri, { searchParams: { action: 'build', SOURCE: source } });
  if (response.statusCode !== 200) throw xnat.error(response, 'POST', prearchiveUri);
}

/** One scan of a prearchive entry: its ID (the SeriesNumber), its DICOM files and their bytes on disk. */
export interface PrearchiveScan {
  id: string;
  fileCount: number;
  /** undefined when XNAT's listing gave no usable sizes. */
  bytes: number | undefined;
}

/** Scans of a prearchive session with their DICOM files (scan IDs are SeriesNumbers: docs/reference/xnat-rest.md#scans-and-files). */
export async function prearchiveScans(xnat: XnatSession, prearchiveUri: string): Promise<PrearchiveScan[]> {
  const response = await xnat.request('GET', `${prearchiveUri}/scans`, { searchParams: { format: 'json' } });
  if (response.statusCode === 404) return [];
  if (response.statusCode !== 200) throw xnat.error(response, 'GET', `${prearchiveUri}/scans`);
  const scans: PrearchiveScan[] = [];
  for (const row of resultSet(response.body)) {
    const id = row.ID ?? '';
    const listed = await scanDicomFiles(xnat, `${prearchiveUri}/scans/${encodeURIComponent(id)}`);
    // Size is each file's length on disk (docs/reference/xnat-prearchive.md#file-names); unreadable sizes make the total unknown.
    const sizes = listed.map((file) => Number(file.Size));
    scans.push({ id, fileCount: listed.length, bytes: sizes.every((n) => Number.isSafeInteger(n) && n >= 0) ? sizes.reduce((a, b) => a + b, 0) : undefined });
  }
  return scans;
}

/**
 * Commits a prearchive session. AA=true archives it whatever the project's prearchive code: a Manual project
 * only builds on a bare commit (docs/reference/xnat-rest.md#commit). Archived → 301 with the URI in the body.
 * `subject` overrides the subject the entry was built with, which a later upload into it does not change
 * (docs/reference/xnat-rest.md#shared-experiments).
 */
export async function commit(xnat: XnatSession, prearchiveUri: string, source: string, subject?: string): Promise<CommitOutcome> {
  const searchParams = { action: 'commit', AA: 'true', SOURCE: source, ...(subject ? { subject } : {}) };
  const response = await xnat.request('POST', prearchiveUri, { searchParams, retry: { limit: 0 } });
  if (response.statusCode === 301 || response.statusCode === 302 || response.statusCode === 303) {
    const uri = response.body.trim() || String(response.headers.location ?? '');
    return { archived: true, uri: stripOrigin(uri) };
  }
  if (response.statusCode === 200) return { archived: false, uri: response.body.trim() };
  throw xnat.error(response, 'POST', prearchiveUri);
}

export async function deletePrearchive(xnat: XnatSession, prearchiveUri: string): Promise<void> {
  const response = await xnat.request('DELETE', prearchiveUri);
  if (response.statusCode !== 200 && response.statusCode !== 404) throw xnat.error(response, 'DELETE', prearchiveUri);
}
