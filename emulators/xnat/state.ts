/** In-memory model of one emulated XNAT: users, projects, prearchive, archive, resources. */
import { BlobStore } from './blob-store.js';
import { labelIn } from './sharing.js';
import type { XnatEmulatorOptions, XnatUser } from './types.js';

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

export const UNASSIGNED = 'Unassigned';

/** Everything the routes read and write. */
export class XnatState {
  readonly version: '1.8' | '1.9';
  readonly sessionTimeoutMs: number;
  readonly defaultPrearchiveCode: 0 | 4 | 5;
  readonly autoCommitIdleMs: number | undefined;
  /** Site settings only the XAPI routes read (xapi.ts). */
  readonly site: { siteAnonymization: boolean; projectAnonymization: string[]; commands?: XnatEmulatorOptions['commands']; excludeModalities: string[] };
  readonly users = new Map<string, UserRecord>();
  readonly projects = new Map<string, Project>();
  readonly deletedProjects = new Set<string>();
  readonly prearchive: PrearcSession[] = [];
  readonly subjects: Subject[] = [];
  readonly experiments: Experiment[] = [];
  readonly sessions = new Map<string, HttpSession>();
  readonly tokens = new Map<string, AliasToken>();
  /** `http-session-listener` ids → final status, for `/data/status/{id}`. */
  readonly listeners = new Map<string, { status: string; message: string; username: string }>();
  /** Prearchive entries being archived in the background (key `P/TS/F`). */
  readonly archiving = new Set<string>();
  readonly loginCounts = new Map<string, number>();
  logins = 0;
  failedLogins = 0;
  /** Requests that presented the cookie of an expired or invalidated session. */
  staleCookies = 0;
  private seq = { subject: 0, experiment: 0, catalog: 1000, token: 0 };

  readonly blobs = new BlobStore();

  /** A stored file whose bytes go to disk now and are read back when asked for. */
  storeFile(meta: Omit<StoredFile, 'bytes' | 'size' | 'path'>, bytes: Buffer): StoredFile {
    const path = this.blobs.put(bytes);
    const blobs = this.blobs;
    return { ...meta, size: bytes.length, path, get bytes() { return blobs.read(path); } };
  }

  constructor(opts: XnatEmulatorOptions) {
    this.version = opts.version ?? '1.9';
    this.sessionTimeoutMs = opts.sessionTimeoutMs ?? 15 * 60_000;
    this.defaultPrearchiveCode = opts.defaultPrearchiveCode ?? 4;
    this.autoCommitIdleMs = opts.autoCommitIdleMs;
    this.site = { siteAnonymization: opts.anonymization?.site ?? false, projectAnonymization: opts.anonymization?.projects ?? [], commands: opts.commands, excludeModalities: opts.excludeModalities ?? [] };
    for (const u of opts.users ?? [{ username: 'admin', password: 'admin', admin: true }]) {
      this.users.set(u.username, {
        username: u.username,
        password: u.password,
        admin: u.admin ?? false,
        canCreateProjects: u.canCreateProjects ?? true,
        passwordExpired: u.passwordExpired ?? false,
        inactive: u.inactive ?? false,
        allDataAdmin: u.allDataAdmin ?? false,
        failedLogins: 0,
        lockedUntil: 0,
      });
    }
    for (const p of opts.projects ?? []) {
      const project = this.createProject(p.id, p.prearchiveCode ?? this.defaultPrearchiveCode, { alias: p.alias, name: p.name, secondaryId: p.secondaryId });
      for (const o of p.owners ?? []) project.owners.add(o);
      for (const m of p.members ?? []) project.members.add(m);
      for (const c of p.collaborators ?? []) project.collaborators.add(c);
    }
  }

  createProject(id: string, code: number, fields: Partial<Pick<Project, 'name' | 'secondaryId' | 'description' | 'alias' | 'accessibility'>> = {}): Project {
    const project: Project = {
      id,
      name: fields.name ?? id,
      secondaryId: fields.secondaryId ?? id,
      description: fields.description ?? '',
      alias: fields.alias ?? [],
      accessibility: fields.accessibility ?? 'protected',
      prearchiveCode: code,
      owners: new Set(),
      members: new Set(),
      collaborators: new Set(),
      resources: new Map(),
    };
    this.projects.set(id, project);
    return project;
  }

  /** Finds a project by ID or alias ("GET /data/projects/{ID or alias}", docs/reference/xnat-rest.md#projects). */
  findProject(idOrAlias: string): Project | undefined {
    const direct = this.projects.get(idOrAlias);
    if (direct) return direct;
    for (const p of this.projects.values()) if (p.alias.includes(idOrAlias)) return p;
    return undefined;
  }

  nextSubjectId(): string {
    return `XNAT_S${String(++this.seq.subject).padStart(5, '0')}`;
  }

  nextExperimentId(): string {
    return `XNAT_E${String(++this.seq.experiment).padStart(5, '0')}`;
  }

  nextCatalogId(): number {
    return ++this.seq.catalog;
  }

  nextTokenId(): number {
    return ++this.seq.token;
  }

  findPrearc(project: string, timestamp: string, folder: string): PrearcSession | undefined {
    return this.prearchive.find((s) => s.project === project && s.timestamp === timestamp && s.folderName === folder);
  }

  removePrearc(session: PrearcSession): void {
    const i = this.prearchive.indexOf(session);
    if (i >= 0) this.prearchive.splice(i, 1);
  }

  subjectById(id: string): Subject | undefined {
    return this.subjects.find((s) => s.id === id);
  }

  /**
   * Subject as XNAT resolves a reference within a project: its label there (its own, or the one a share into the
   * project gave it), else its accession ID, whatever project owns it. The archiver ignores case in the label
   * (retrieveMatchingSubject; docs/reference/xnat-rest.md#labels).
   */
  findSubject(project: string, labelOrId: string, ignoreCase = false): Subject | undefined {
    const same = (a: string): boolean => (ignoreCase ? a.toLowerCase() === labelOrId.toLowerCase() : a === labelOrId);
    return this.subjects.find((s) => s.project === project && same(s.label))
      ?? this.subjects.find((s) => s.shares?.some((x) => x.project === project && x.label !== '' && same(x.label)))
      ?? this.subjects.find((s) => s.id === labelOrId);
  }

  /** Experiment by label or accession ID within a project, shared ones by their label there (GetExptByProjectIdentifier). */
  findExperiment(project: string, labelOrId: string): Experiment | undefined {
    return this.experimentsIn(project).find((e) => labelIn(e, project) === labelOrId || e.id === labelOrId);
  }

  /** The project's own experiments and those shared into it, as its listing holds them. */
  experimentsIn(project: string): Experiment[] {
    return this.experiments.filter((e) => e.project === project || e.shares?.some((x) => x.project === project));
  }

  experimentById(id: string): Experiment | undefined {
    return this.experiments.find((e) => e.id === id);
  }

  removeExperiment(e: Experiment): void {
    const i = this.experiments.indexOf(e);
    if (i >= 0) this.experiments.splice(i, 1);
  }
}

/** `P/TS/F` key of a prearchive entry. */
export function prearcKey(s: Pick<PrearcSession, 'project' | 'timestamp' | 'folderName'>): string {
  return `${s.project}/${s.timestamp}/${s.folderName}`;
}

/** `/data/prearchive/projects/P/TS/F`. */
export function prearcUri(s: Pick<PrearcSession, 'project' | 'timestamp' | 'folderName'>): string {
  return `/data/prearchive/projects/${s.project}/${s.timestamp}/${s.folderName}`;
}

/** `/data/archive/projects/P/subjects/S/experiments/E` (PrearcSessionArchiver.buildURI). */
export function archiveUri(project: string, subjectLabel: string, label: string): string {
  return `/data/archive/projects/${project}/subjects/${subjectLabel}/experiments/${label}`;
}
