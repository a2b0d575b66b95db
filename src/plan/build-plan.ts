import type { SeriesMetadata } from '../tcia/series-metadata.js';
import type { SourceName } from '../sources/types.js';
import type { ArchivedScan, ArchivedSessionRow } from '../xnat/xnat-client.js';
import { assignSessionLabels, subjectLabel } from './labels.js';

export type SeriesAction =
  /** New to XNAT: import it. */
  | 'import'
  /** XNAT already holds the scan with every file: nothing to do. */
  | 'skip'
  /** XNAT holds the scan with fewer files than TCIA lists: replace it. */
  | 'redo'
  /** TCIA does not know the UID (or does not make it public). */
  | 'unknown'
  /** The study's session is another project's, shared into this one: nothing may be sent into it or deleted from it. */
  | 'blocked';

export interface PlannedSeries {
  uid: string;
  meta?: SeriesMetadata;
  action: SeriesAction;
  subject?: string;
  /** Accession ID of the subject of the session XNAT already holds, if any (see PlannedStudy.subjectId). */
  subjectId?: string;
  session?: string;
  /** The XNAT session (experiment ID) that already holds this study, if any. */
  sessionId?: string;
  existingScan?: ArchivedScan;
  /** Why a 'blocked' series cannot be imported, and what to do instead. */
  reason?: string;
  /** Where the series would come from (set by the run once the IDC index is read). */
  source?: SourceName;
}

export interface PlannedStudy {
  studyUid: string;
  patientId: string;
  subject: string;
  /**
   * Accession ID of the subject of the study's session when XNAT already holds it: what the import and the archive
   * path name the subject by. The listing's label is the owning project's, which the archiver does not find in this
   * project when the subject is shared into it under another label (docs/reference/xnat-rest.md#shared-experiments).
   */
  subjectId?: string;
  session: string;
  /** Series to move, in SeriesNumber order. */
  series: PlannedSeries[];
}

export interface Plan {
  /** Manifest order. */
  series: PlannedSeries[];
  studies: PlannedStudy[];
  totals: { series: number; toMove: number; skip: number; unknown: number; blocked: number; images: number; bytes: number };
}

export interface XnatHoldings {
  sessions: ArchivedSessionRow[];
  /** Labels of every experiment in the project, non-image ones included: all are taken for new sessions. */
  labels: readonly string[];
  /** Scans of the sessions whose StudyInstanceUID the manifest mentions, by experiment ID. */
  scans: Map<string, ArchivedScan[]>;
  /** Of those sessions, the ones another project owns (shared into this one), by experiment ID: the owner's ID. */
  sharedFrom?: ReadonlyMap<string, string>;
}

/** Decides, for every manifest series, what to do and under which subject and session labels. */
export function buildPlan(uids: string[], metadata: ReadonlyMap<string, SeriesMetadata>, holdings: XnatHoldings): Plan {
  const sessionByStudy = new Map<string, ArchivedSessionRow>();
  for (const row of holdings.sessions) if (row.studyUid && !sessionByStudy.has(row.studyUid)) sessionByStudy.set(row.studyUid, row);

  const studyKeys = new Map<string, { studyUid: string; patientId: string; studyDate: string }>();
  for (const uid of uids) {
    const meta = metadata.get(uid);
    if (meta && !studyKeys.has(meta.studyUid)) studyKeys.set(meta.studyUid, { studyUid: meta.studyUid, patientId: meta.patientId, studyDate: meta.studyDate });
  }
  const existingLabels = new Map([...sessionByStudy].map(([studyUid, row]) => [studyUid, row.label]));
  const labels = assignSessionLabels(studyKeys.values(), existingLabels, new Set([...holdings.sessions.map((row) => row.label), ...holdings.labels]));

  const studies = new Map<string, PlannedStudy>();
  const series: PlannedSeries[] = uids.map((uid) => {
    const meta = metadata.get(uid);
    if (!meta) return { uid, action: 'unknown' };
    const existing = sessionByStudy.get(meta.studyUid);
    // A study XNAT already holds keeps its subject: another subject would be an "invalid modification" (docs/reference/xnat-rest.md#archive-conflicts).
    // Without a PatientName (v1 metadata whose header could not be read, src/plan/header-metadata.ts) the PatientID names the subject.
    const subject = existing?.subject || subjectLabel(meta.patientName, meta.patientId);
    const subjectId = existing?.subjectId || undefined;
    const session = labels.get(meta.studyUid)!;
    const scan = existing ? holdings.scans.get(existing.id)?.find((s) => s.seriesUid === uid) : undefined;
    // As the check after a commit judges it (commit-study.ts): a scan holding more files than TCIA lists is not TCIA's series.
    const complete = scan !== undefined && scan.fileCount > 0 && (meta.imageCount === 0 || scan.fileCount === meta.imageCount);
    const owner = existing && holdings.sharedFrom?.get(existing.id);
    // XNAT refuses to archive into another project's session, and its scans are not this project's to delete
    // (docs/reference/xnat-rest.md#shared-experiments): only a series it holds whole counts as there.
    const action: SeriesAction = complete ? 'skip' : owner ? 'blocked' : scan === undefined ? 'import' : 'redo';
    const planned: PlannedSeries = { uid, meta, action, subject, subjectId, session, sessionId: existing?.id, existingScan: scan };
    if (action === 'blocked') planned.reason = sharedReason(existing!, owner!, scan, meta.imageCount);
    let study = studies.get(meta.studyUid);
    if (!study) {
      study = { studyUid: meta.studyUid, patientId: meta.patientId, subject, subjectId, session, series: [] };
      studies.set(meta.studyUid, study);
    }
    if (action !== 'skip' && action !== 'blocked') study.series.push(planned);
    return planned;
  });

  for (const study of studies.values()) study.series.sort((a, b) => seriesOrder(a) - seriesOrder(b) || (a.uid < b.uid ? -1 : 1));
  const moving = series.filter((s) => s.action === 'import' || s.action === 'redo');
  return {
    series,
    studies: [...studies.values()].filter((study) => study.series.length > 0).sort(largestFirst),
    totals: {
      series: series.length,
      toMove: moving.length,
      skip: series.filter((s) => s.action === 'skip').length,
      unknown: series.filter((s) => s.action === 'unknown').length,
      blocked: series.filter((s) => s.action === 'blocked').length,
      images: moving.reduce((n, s) => n + (s.meta?.imageCount ?? 0), 0),
      bytes: moving.reduce((n, s) => n + (s.meta?.fileSize ?? 0), 0),
    },
  };
}

function sharedReason(session: ArchivedSessionRow, owner: string, scan: ArchivedScan | undefined, images: number): string {
  const held = scan ? `its scan ${scan.id} holds ${scan.fileCount} of ${images} files, and ` : '';
  return `session ${session.label} (${session.id}) belongs to project ${owner} and is only shared into this one: ${held}`
    + `XNAT adds nothing to it from here, and the tool changes no other project's session; import this series into project ${owner}, or ask an owner of ${owner} to`;
}

function seriesOrder(series: PlannedSeries): number {
  const n = Number(series.meta?.seriesNumber);
  return Number.isFinite(n) ? n : Number.MAX_SAFE_INTEGER;
}

/** Big studies first, so the last minutes of a run are not one long study on one connection. */
function largestFirst(a: PlannedStudy, b: PlannedStudy): number {
  const size = (s: PlannedStudy): number => s.series.reduce((n, x) => n + (x.meta?.fileSize ?? 0), 0);
  return size(b) - size(a);
}
