/** An XNAT 1.8/1.9 emulator on 127.0.0.1: the REST surface the product uses, with XNAT's strictness. */
import type { AddressInfo } from 'node:net';
import { archiveSession } from './archive.js';
import { isLive, issueToken } from './auth.js';
import { FaultController } from './faults.js';
import { build } from './prearchive.js';
import { createXnatServer } from './server.js';
import { type StoredScan, XnatState } from './state.js';
import type {
  ArchivedScan,
  ArchivedSession,
  PrearchivedSession,
  RecordedRequest,
  XnatEmulatorOptions,
  XnatStats,
} from './types.js';

export type {
  EmulatedCommand,
  ArchivedFile,
  ArchivedScan,
  ArchivedSession,
  PrearchivedSession,
  RecordedRequest,
  XnatEmulatorOptions,
  XnatStats,
  XnatUser,
} from './types.js';
export { FaultController } from './faults.js';
export type { FaultMatch, XnatFault } from './faults.js';

/** The faults controller type as seen on `emu.faults`. */
export type XnatFaults = FaultController;

/** A running emulator. */
export interface XnatEmulator {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** The temp folder holding received DICOM files; removed by close(). */
  storageDir: string;
  requests: RecordedRequest[];
  faults: XnatFaults;
  stats: XnatStats;
  issueAliasToken(username: string): { alias: string; secret: string };
  /** What is archived in a project, for byte comparison. */
  archive(project: string): ArchivedSession[];
  prearchive(project: string): PrearchivedSession[];
  /** File path → bytes of a project resource, or undefined when the resource does not exist. */
  projectResource(project: string, label: string): Map<string, Buffer> | undefined;
  projectExists(id: string): boolean;
  /** Runs the auto-commit job now on RECEIVING entries idle for at least `idleMs` (default 0); returns how many it took. */
  autoCommit(idleMs?: number): number;
  close(): Promise<void>;
}

/** Starts an emulator on an ephemeral loopback port. */
export async function startXnatEmulator(opts: XnatEmulatorOptions = {}): Promise<XnatEmulator> {
  const state = new XnatState(opts);
  const faults = new FaultController(() => {
    for (const s of state.sessions.values()) s.valid = false;
  });
  const requests: RecordedRequest[] = [];
  const autoCommit = (idleMs = 0): number => runAutoCommit(state, idleMs);
  const housekeeping = (): void => {
    if (state.autoCommitIdleMs !== undefined) autoCommit(state.autoCommitIdleMs);
  };
  const server = createXnatServer({ state, faults, requests, beforeRequest: housekeeping });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  const stats: XnatStats = {
    get logins() {
      return state.logins;
    },
    get failedLogins() {
      return state.failedLogins;
    },
    get staleCookies() {
      return state.staleCookies;
    },
    get activeSessions() {
      const now = Date.now();
      return [...state.sessions.values()].filter((s) => isLive(state, s, now)).length;
    },
    loginsFor: (username) => state.loginCounts.get(username) ?? 0,
  };

  return {
    url: `http://127.0.0.1:${port}`,
    storageDir: state.blobs.dir,
    requests,
    faults,
    stats,
    issueAliasToken(username) {
      if (!state.users.has(username)) throw new Error(`No such user ${username}`);
      const t = issueToken(state, username);
      return { alias: t.alias, secret: t.secret };
    },
    archive(project) {
      housekeeping();
      return state.experiments
        .filter((e) => e.project === project)
        .map((e) => ({
          id: e.id,
          project: e.project,
          subject: state.subjectById(e.subjectId)?.label ?? '',
          label: e.label,
          studyInstanceUid: e.studyInstanceUid,
          modality: e.modality,
          date: e.date,
          scans: e.scans.map(exportScan),
        }));
    },
    prearchive(project) {
      housekeeping();
      return state.prearchive
        .filter((s) => s.project === project)
        .map((s) => ({
          timestamp: s.timestamp,
          folderName: s.folderName,
          name: s.name,
          subject: s.subject,
          tag: s.tag,
          status: s.status,
          source: s.source || undefined,
          scans: s.scans.map(exportScan),
        }));
    },
    projectResource(project, label) {
      const res = state.projects.get(project)?.resources.get(label);
      return res ? new Map(res.files) : undefined;
    },
    projectExists: (id) => state.projects.has(id),
    autoCommit,
    async close() {
      faults.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      state.blobs.dispose();
    },
  };
}

function exportScan(x: StoredScan): ArchivedScan {
  return {
    id: x.id,
    seriesInstanceUid: x.seriesInstanceUid,
    modality: x.modality,
    files: [...x.files.values()].map((f) => ({ name: f.name, bytes: f.bytes, sopInstanceUid: f.sopInstanceUid })),
  };
}

/** SessionXMLRebuilder + PrearchiveRebuildHandler: skips prevent_auto_commit and SOURCE=uploader. */
function runAutoCommit(state: XnatState, idleMs: number): number {
  const now = Date.now();
  const due = state.prearchive.filter(
    (s) => s.status === 'RECEIVING' && now - s.lastmod.getTime() >= idleMs && !s.preventAutoCommit && s.source !== 'uploader',
  );
  for (const s of due) {
    build(s);
    const code = s.autoarchive ?? state.projects.get(s.project)?.prearchiveCode;
    if (code !== 4 && code !== 5) continue;
    try {
      archiveSession(state, s, { overwrite: code === 5 ? 'delete' : 'append', canModify: true, user: 'auto-archive' });
    } catch {
      // The entry's status (CONFLICT or ERROR) records the failure.
    }
  }
  return due.length;
}
