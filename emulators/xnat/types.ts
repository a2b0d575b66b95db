/** Public option and result types of the XNAT emulator (the product's tests import these). */

/** A user account known to the emulator. */
export interface XnatUser {
  username: string;
  password: string;
  admin?: boolean;
  /** Mirrors `uiAllowNonAdminProjectCreation`; default true. */
  canCreateProjects?: boolean;
  /** A local password past its expiry: every request is sent to the change-password page (XnatExpiredPasswordFilter). */
  passwordExpired?: boolean;
  /** Disabled for inactivity: the login works, then every request is sent to the inactive-account page. */
  inactive?: boolean;
  /** In the site-wide ALL_DATA_ADMIN group: every right on every project's data, yet in none of their groups. */
  allDataAdmin?: boolean;
}

/** A project that exists when the emulator starts. */
export interface XnatProjectSeed {
  id: string;
  prearchiveCode?: 0 | 4 | 5;
  owners?: string[];
  members?: string[];
  collaborators?: string[];
  /** Other names the project answers to (`GET /data/projects/{alias}`); XNAT keys its data by `id`. */
  alias?: string[];
  /** Title and running title; both default to the ID. */
  name?: string;
  secondaryId?: string;
}

/** Options for `startXnatEmulator`. */
export interface XnatEmulatorOptions {
  /** Loopback port to listen on; 0 (default) picks a free one. */
  port?: number;
  users?: XnatUser[];
  projects?: XnatProjectSeed[];
  /** Prearchive code given to projects created by PUT; default 4 (`defaultPrearchiveCode`, docs/reference/xnat-rest.md#projects). */
  defaultPrearchiveCode?: 0 | 4 | 5;
  /** '1.9' (default) and '1.8' (= 1.8.0–1.8.9) differ in small details only. */
  version?: '1.8' | '1.9';
  /** Idle expiry of a JSESSIONID; default 15 minutes (docs/reference/xnat-rest.md#login-and-sessions). */
  sessionTimeoutMs?: number;
  /**
   * When set, RECEIVING sessions idle for this long are auto-committed like SessionXMLRebuilder does
   * (checked lazily on each request). Real XNAT uses 5 minutes; default: off.
   */
  autoCommitIdleMs?: number;
  /** What `/xapi/anonymize/...` reports. The emulator never rewrites DICOM files; this only feeds the readiness check. */
  anonymization?: { site?: boolean; projects?: string[] };
  /**
   * A site-wide series import filter in blocklist mode: the import drops files of these modalities, and answers 200
   * with no session when it kept none (GradualDicomImporter's empty answer).
   */
  excludeModalities?: string[];
  /** Container Service commands, as `/xapi/commands` lists them; undefined: the plugin is not installed. */
  commands?: EmulatedCommand[];
}

/** A Container Service command with its wrappers and where each is enabled. */
export interface EmulatedCommand {
  id: number;
  name: string;
  version: string;
  image: string;
  wrappers: { name: string; enabledForSite?: boolean; enabledForProjects?: string[] }[];
}

/** One archived DICOM file, bytes exactly as uploaded. */
export interface ArchivedFile {
  name: string;
  bytes: Buffer;
  sopInstanceUid: string;
}

/** One scan with its DICOM resource. */
export interface ArchivedScan {
  id: string;
  seriesInstanceUid: string;
  modality: string;
  files: ArchivedFile[];
}

/** One archived image session. */
export interface ArchivedSession {
  id: string;
  project: string;
  subject: string;
  label: string;
  studyInstanceUid: string;
  modality: string;
  date: string;
  scans: ArchivedScan[];
}

/** One prearchive entry as seen by tests. */
export interface PrearchivedSession {
  timestamp: string;
  folderName: string;
  name: string;
  subject: string;
  tag: string;
  status: string;
  source?: string;
  scans: ArchivedScan[];
}

/** One recorded HTTP exchange. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** Final status; 0 when the connection was dropped before a response. */
  status: number;
  user?: string;
  bodyBytes: number;
  at: number;
}

/** Login and session counters. */
export interface XnatStats {
  /** Sessions created by a successful credential check (Basic, alias token or form login). */
  readonly logins: number;
  /** Credential checks that failed. */
  readonly failedLogins: number;
  /** Requests that presented the JSESSIONID of an expired or invalidated session. */
  readonly staleCookies: number;
  /** Sessions currently valid (not expired, not invalidated). */
  readonly activeSessions: number;
  /** Successful logins of one user (token logins count for the token's user). */
  loginsFor(username: string): number;
}
