/** Archiving a prearchive entry: label rules, merge rules and conflicts (docs/reference/xnat-rest.md#archive-conflicts). */
import { dicomDate, dicomTime } from './html.js';
import { LABEL_RE, leadModality, omCleanValue, sessionXsiType } from './dicom.js';
import { isImageSession } from './experiment-list.js';
import { type Experiment, type PrearcSession, type StoredScan, type XnatState, UNASSIGNED, archiveUri, prearcKey } from './state.js';

/** Merge control from `overwrite` (Importer.parseOverrideValue). */
export type Overwrite = 'none' | 'append' | 'delete';

export function parseOverwrite(v: string | undefined, fallback: Overwrite): Overwrite {
  if (v === undefined || v === '') return fallback;
  const s = v.toLowerCase();
  if (s === 'none' || s === 'false') return 'none';
  if (s === 'delete' || s === 'override') return 'delete';
  return 'append'; // `append` and any other value merge
}

/** Why an archive attempt failed; each path maps the kind to its own status (docs/reference/xnat-rest.md#archive-conflicts). */
export class ArchiveFailure extends Error {
  constructor(
    readonly kind: 'conflict' | 'invalid' | 'forbidden' | 'error',
    message: string,
  ) {
    super(message);
  }
}

export interface ArchiveRequest {
  overwrite: Overwrite;
  /** `overwrite_files=true`: matching file names may be replaced. */
  overwriteFiles?: boolean;
  subject?: string;
  label?: string;
  /** The caller can modify the project (PrearcUtils.canModify); false fails the archive. */
  canModify: boolean;
  user: string;
}

/** Archives synchronously; on success the prearchive row is removed and the archive URI returned. */
export function archiveSession(state: XnatState, s: PrearcSession, req: ArchiveRequest): { uri: string; experiment: Experiment } {
  try {
    const result = doArchive(state, s, req);
    state.removePrearc(s);
    return result;
  } catch (err) {
    if (err instanceof ArchiveFailure) {
      s.status = err.kind === 'conflict' ? 'CONFLICT' : 'ERROR';
      s.lastMessage = err.message;
      s.lastmod = new Date();
    }
    throw err;
  } finally {
    state.archiving.delete(prearcKey(s));
  }
}

function doArchive(state: XnatState, s: PrearcSession, req: ArchiveRequest): { uri: string; experiment: Experiment } {
  if (s.project === UNASSIGNED) throw new ArchiveFailure('invalid', 'Unable to identify project for the session; assign it to a project first.');
  const project = state.projects.get(s.project);
  if (!project) throw new ArchiveFailure('invalid', `Unable to identify project ${s.project}`);
  if (!req.canModify) throw new ArchiveFailure('forbidden', `Invalid permissions for new session: ${req.user} cannot modify project ${s.project}.`);
  // The label falls back to the folder name and is cleaned by OmUtils.cleanValue before validation.
  const label = omCleanValue(req.label ?? (s.name || s.folderName));
  const subjectLabel = omCleanValue(req.subject ?? s.subject);
  if (!LABEL_RE.test(label) || !LABEL_RE.test(subjectLabel)) {
    throw new ArchiveFailure('invalid', 'Identifiers cannot use special characters.');
  }
  if (s.scans.length === 0) throw new ArchiveFailure('error', 'Empty sessions cannot be archived.');
  const modality = leadModality(s.scans.map((x) => x.modality));
  const xsiType = sessionXsiType(modality);
  const existing = state.findExperiment(project.id, label);
  // PrearcSessionArchiver.retrieveExistingExpt casts whatever holds the label to an image session, so a non-image
  // experiment under that label fails every archive into it (docs/reference/xnat-rest.md#experiment-labels).
  if (existing && !isImageSession(existing.xsiType)) {
    throw new ArchiveFailure('error', `class ${javaClass(existing.xsiType)} cannot be cast to class org.nrg.xdat.om.XnatImagesessiondata`);
  }
  // fixSubject runs before any conflict check: a subject the reference does not find is created even when the
  // archive is then refused (docs/reference/xnat-rest.md#shared-experiments).
  let subject = state.findSubject(project.id, subjectLabel, true);
  if (!subject) {
    // The importer creates missing subjects itself (docs/reference/xnat-rest.md#experiments).
    subject = { id: state.nextSubjectId(), project: project.id, label: subjectLabel, insertDate: new Date(), insertUser: req.user };
    state.subjects.push(subject);
  }
  // buildURI names the subject by its own label, the owning project's.
  if (!existing) {
    const experiment: Experiment = {
      id: state.nextExperimentId(),
      project: project.id,
      subjectId: subject.id,
      label,
      studyInstanceUid: s.tag,
      xsiType,
      modality,
      date: dicomDate(s.studyDate),
      time: dicomTime(s.studyTime),
      insertDate: new Date(),
      insertUser: req.user,
      scans: s.scans.map((x) => ({ ...x, files: new Map(x.files), catId: state.nextCatalogId(), secondaryCatId: state.nextCatalogId() })),
    };
    state.experiments.push(experiment);
    return { uri: archiveUri(project.id, subject.label, label), experiment };
  }
  merge(state, existing, s, { label, project: project.id, subjectId: subject.id, xsiType }, req);
  return { uri: archiveUri(project.id, subject.label, existing.label), experiment: existing };
}

/** MergeSessionsA plus PrearcSessionArchiver's pre-checks; all checks run before anything changes. */
function merge(state: XnatState, target: Experiment, s: PrearcSession, into: { label: string; project: string; subjectId: string; xsiType: string }, req: ArchiveRequest): void {
  const { xsiType } = into;
  if (req.overwrite === 'none') throw new ArchiveFailure('conflict', 'Session already exists, retry with overwrite enabled');
  // A session shared into the project is found by its label there, but stays its owner's: no upload merges into it
  // (docs/reference/xnat-rest.md#shared-experiments).
  if (target.label !== into.label) throw new ArchiveFailure('conflict', 'Invalid modification of session label via archive process.');
  if (target.project !== into.project) throw new ArchiveFailure('conflict', 'Invalid modification of session project via archive process.');
  // preventCrossModalityMerge defaults to true, and `delete` does not lift it (docs/reference/xnat-prearchive.md#session-types-and-cross-modality-merges).
  if (target.xsiType !== xsiType) {
    throw new ArchiveFailure('conflict', 'Invalid modification of session modality via archive process.  Data may require a manual merge.');
  }
  // Compared by accession ID once the reference is resolved (checkForConflicts).
  if (target.subjectId !== into.subjectId) {
    throw new ArchiveFailure('conflict', `Invalid modification of session subject via archive process.: ${target.label} Already Exists for another Subject`);
  }
  const override = req.overwrite === 'delete';
  if (target.studyInstanceUid !== s.tag && !override) {
    throw new ArchiveFailure('conflict', 'Invalid modification of session UID via archive process.');
  }
  const overwriteFiles = override || req.overwriteFiles === true;
  const plan: { into?: StoredScan; scan: StoredScan }[] = [];
  const takenIds = new Set(target.scans.map((x) => x.id));
  for (const scan of s.scans) {
    const into = target.scans.find((x) => x.seriesInstanceUid === scan.seriesInstanceUid);
    if (!into) {
      // Same scan number with a different UID: the scan is renumbered on merge (testModifiedSeriesUIDs → `1-MR1`).
      let id = scan.id;
      for (let k = 1; takenIds.has(id); k++) id = `${scan.id}-${scan.modality}${k}`;
      takenIds.add(id);
      plan.push({ scan: { ...scan, id } });
      continue;
    }
    if (into.id !== scan.id && !override) {
      throw new ArchiveFailure('conflict', `Invalid modification of scan ID via archive process: series ${scan.seriesInstanceUid} is scan ${into.id}.`);
    }
    for (const f of scan.files.values()) {
      const byName = [...into.files.values()].find((x) => x.name === f.name);
      // 1.8.7+: the same file name with another SOP Instance UID fails even with overwrite=delete.
      if (byName && (byName.sopInstanceUid !== f.sopInstanceUid || !overwriteFiles)) {
        throw new ArchiveFailure('conflict', 'Session already exists with matching files.');
      }
    }
    plan.push({ into, scan });
  }
  for (const { into, scan } of plan) {
    if (!into) {
      target.scans.push({ ...scan, files: new Map(scan.files), catId: state.nextCatalogId(), secondaryCatId: state.nextCatalogId() });
      continue;
    }
    // A file of the same name (checked above to be the same SOP instance) replaces the earlier one.
    for (const f of scan.files.values()) into.files.set(f.name, f);
  }
  // The session date is kept, not taken from the new DICOM (testDataProjectExperimentOldRes).
}

/** The generated Java class of an xsi:type, as a ClassCastException names it: xnat:subjectVariablesData → XnatSubjectvariablesdata. */
function javaClass(xsiType: string): string {
  const cap = (x: string): string => x.charAt(0).toUpperCase() + x.slice(1).toLowerCase();
  return `org.nrg.xdat.om.${xsiType.split(':').map(cap).join('')}`;
}
