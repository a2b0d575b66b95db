/** In-memory model of one emulated XNAT: users, projects, prearchive, archive, resources. */
import { BlobStore } from './blob-store.js';
import { labelIn } from './sharing.js';
import type { XnatEmulatorOptions } from './types.js';

// The records live in model.ts; routes import them from here, with the state that holds them.
export type { StoredFile, StoredScan, PrearcStatus, PrearcSession, Subject, Experiment, ExperimentShare, ProjectResource, Project, UserRecord, HttpSession, AliasToken } from './model.js';
import type { StoredFile, PrearcSession, Subject, Experiment, Project, UserRecord, HttpSession, AliasToken } from './model.js';

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
