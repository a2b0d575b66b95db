/** Receiving DICOM objects into the prearchive: session grouping, scan numbering, file naming. */
import { HttpError, prearcTimestamp } from './html.js';
import { type DicomHeader, namerFileName, omCleanValue } from './dicom.js';
import type { FaultController } from './faults.js';
import { type PrearcSession, type XnatState, prearcKey, prearcUri } from './state.js';

/** Where received files go: the identifiers resolved by the importer. */
export interface Routing {
  project: string;
  subject: string;
  label: string;
  /** A prearchive `dest` fixes TS and folder. */
  timestamp?: string;
  folder?: string;
  autoarchive?: 0 | 4 | 5;
  preventAnon: boolean;
  preventAutoCommit: boolean;
  source: string;
  visit: string;
  rename: boolean;
  /** DICOM-zip on 1.8.10+: refuse a different StudyInstanceUID in an existing session. */
  refuseOtherStudy: boolean;
}

/** Adds one object; `seen` holds the sessions the current upload has written to. */
export function receiveFile(
  state: XnatState,
  faults: FaultController,
  r: Routing,
  h: DicomHeader,
  entryName: string,
  bytes: Buffer,
  seen: Map<PrearcSession, Set<string>>,
): PrearcSession {
  let session = r.timestamp && r.folder ? state.findPrearc(r.project, r.timestamp, r.folder) : undefined;
  if (session && session.tag !== h.studyInstanceUid && r.refuseOtherStudy) {
    throw new HttpError(400, `The StudyInstanceUID ${h.studyInstanceUid} does not match the prearchive session ${prearcUri(session)} (${session.tag}).`);
  }
  if (!session && !(r.timestamp && r.folder)) {
    // PrearcDatabase.eitherGetOrCreateSession: key (project, StudyInstanceUID tag, label); READY, ERROR and CONFLICT reopen.
    session = state.prearchive.find(
      (s) => s.project === r.project && s.tag === h.studyInstanceUid && s.name === r.label && ['RECEIVING', 'READY', 'ERROR', 'CONFLICT'].includes(s.status),
    );
  }
  if (!seen.has(session as PrearcSession) && faults.takeLock(r.project, r.label, h.studyInstanceUid)) {
    throw new HttpError(423, 'session document locked');
  }
  if (session && state.archiving.has(prearcKey(session))) throw new HttpError(409, 'session document locked');
  if (!session) session = createSession(state, r, h);
  if (!seen.has(session)) seen.set(session, new Set());
  session.status = 'RECEIVING';
  session.lastmod = new Date();

  let scan = session.scans.find((x) => x.seriesInstanceUid === h.seriesInstanceUid);
  if (!scan) {
    const base = h.seriesNumber || omCleanValue(h.seriesInstanceUid);
    let id = base;
    // Two series sharing a number: the later one becomes `N-<modality><k>` (testModifiedSeriesUIDs).
    for (let k = 1; session.scans.some((x) => x.id === id); k++) id = `${base}-${h.modality}${k}`;
    scan = {
      id,
      seriesInstanceUid: h.seriesInstanceUid,
      seriesNumber: h.seriesNumber,
      modality: h.modality,
      seriesDescription: h.seriesDescription,
      files: new Map(),
      catId: state.nextCatalogId(),
    };
    session.scans.push(scan);
  }
  // Files are kept by name, as in XNAT's scan folder (GradualDicomImporter.getSafeFile): with rename=false a file takes
  // its entry's base name; a file already there under that name is overwritten when it is the same SOP instance, and
  // otherwise the newcomer goes through the namer. The same instance sent under another name is kept twice.
  let name = r.rename ? namerFileName(h) : (entryName.split('/').pop() as string);
  const clash = scan.files.get(name);
  if (clash && clash.sopInstanceUid !== h.sopInstanceUid) name = namerFileName(h);
  const replaced = scan.files.get(name);
  if (replaced) state.blobs.remove(replaced.path);
  scan.files.set(name, state.storeFile({ name, sopInstanceUid: h.sopInstanceUid, sopClassUid: h.sopClassUid, instanceNumber: h.instanceNumber }, bytes));
  return session;
}

function createSession(state: XnatState, r: Routing, h: DicomHeader): PrearcSession {
  const now = new Date();
  const folder = r.folder ?? omCleanValue(r.label);
  let t = now.getTime();
  let ts = r.timestamp ?? prearcTimestamp(now);
  while (!r.timestamp && state.findPrearc(r.project, ts, folder)) ts = prearcTimestamp(new Date(++t));
  const project = state.projects.get(r.project);
  const session: PrearcSession = {
    project: r.project,
    timestamp: ts,
    folderName: folder,
    name: r.label,
    subject: r.subject,
    tag: h.studyInstanceUid,
    status: 'RECEIVING',
    uploaded: now,
    lastmod: now,
    studyDate: h.studyDate,
    studyTime: h.studyTime,
    autoarchive: r.autoarchive ?? (project ? (project.prearchiveCode as 0 | 4 | 5) : undefined),
    preventAnon: r.preventAnon,
    preventAutoCommit: r.preventAutoCommit,
    source: r.source,
    visit: r.visit,
    protocol: '',
    scans: [],
    lastMessage: '',
    built: false,
  };
  state.prearchive.push(session);
  return session;
}
