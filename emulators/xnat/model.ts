/** The records the emulated XNAT keeps (state.ts holds them): files, scans, sessions, subjects, projects, users, logins. */
import type { XnatUser } from './types.js';

/** A DICOM file held in the prearchive or the archive; its bytes, as received, live on disk (blob-store.ts). */
export interface StoredFile {
  name: string;
  /** Read from disk on each access. */
  readonly bytes: Buffer;
  size: number;
  path: string;
  sopInstanceUid: string;
  sopClassUid: string;
  instanceNumber: string;
}

/** A scan: one SeriesInstanceUID with its DICOM resource. */
export interface StoredScan {
  id: string;
  seriesInstanceUid: string;
  seriesNumber: string;
  modality: string;
  seriesDescription: string;
  /** Keyed by file name, as in the scan's folder; insertion order kept. */
  files: Map<string, StoredFile>;
  catId: number;
  /** The archive's `secondary` resource of the scan (scan-resources.ts); unset in the prearchive. */
  secondaryCatId?: number;
}

export type PrearcStatus = 'RECEIVING' | 'BUILDING' | 'READY' | 'CONFLICT' | 'ERROR' | 'QUEUED_ARCHIVING' | 'ARCHIVING';

/** A prearchive entry (PrearcDatabase row plus its files). */
export interface PrearcSession {
  project: string;
  timestamp: string;
  folderName: string;
  name: string;
  subject: string;
  tag: string;
  status: PrearcStatus;
  uploaded: Date;
  lastmod: Date;
  studyDate: string;
  studyTime: string;
  /** Session-level code from the project code or an AA flag; undefined when neither applied. */
  autoarchive?: 0 | 4 | 5;
  preventAnon: boolean;
  preventAutoCommit: boolean;
  source: string;
  visit: string;
  protocol: string;
  scans: StoredScan[];
  lastMessage: string;
  /**
   * Whether XNAT has written the session's document (`<folder>.xml`), which its scan and file listings and the
   * session's XML are read from: a DICOM-zip upload without `dest` leaves it unwritten until a build or commit
   * (docs/reference/xnat-prearchive.md#scan-listings). A later upload does not remove it.
   */
  built: boolean;
}

export interface Subject {
  id: string;
  project: string;
  label: string;
  insertDate: Date;
  insertUser: string;
  /** Projects the subject is shared into, each with the label it has there (xnat:projectParticipant). */
  shares?: ExperimentShare[];
}

export interface Experiment {
  id: string;
  project: string;
  subjectId: string;
  label: string;
  studyInstanceUid: string;
  xsiType: string;
  modality: string;
  date: string;
  time: string;
  insertDate: Date;
  insertUser: string;
  scans: StoredScan[];
  /** Projects the experiment is shared into, each with the label it has there (xnat:experimentData_share). */
  shares?: ExperimentShare[];
}

/** A share into another project; an empty label keeps the experiment's own (docs/reference/xnat-rest.md#shared-experiments). */
export interface ExperimentShare { project: string; label: string }

export interface ProjectResource {
  id: number;
  label: string;
  format: string;
  content: string;
  description: string;
  tags: string;
  files: Map<string, Buffer>;
}

export interface Project {
  id: string;
  name: string;
  secondaryId: string;
  description: string;
  alias: string[];
  accessibility: string;
  prearchiveCode: number;
  owners: Set<string>;
  members: Set<string>;
  collaborators: Set<string>;
  resources: Map<string, ProjectResource>;
}

export interface UserRecord extends Required<Pick<XnatUser, 'username' | 'password'>> {
  admin: boolean;
  canCreateProjects: boolean;
  passwordExpired: boolean;
  inactive: boolean;
  allDataAdmin: boolean;
  failedLogins: number;
  lockedUntil: number;
}

export interface HttpSession {
  id: string;
  username: string;
  created: number;
  lastAccess: number;
  csrf: string;
  valid: boolean;
}

export interface AliasToken {
  alias: string;
  secret: string;
  username: string;
  created: number;
  expires: number;
  enabled: boolean;
  id: number;
}
