import { describeError } from '../errors.js';
import { commitAndVerify } from '../finalize/commit-study.js';
import type { Logger } from '../log.js';
import { pause } from '../retry.js';
import type { SeriesMetadata } from '../tcia/series-metadata.js';
import type { ArchivedSessionRow, PrearchiveRow, XnatClient } from '../xnat/xnat-client.js';

export interface LeftoverOutcome {
  committed: string[];
  /** SeriesInstanceUIDs of the series those commits put in the archive: this run imported them. */
  committedSeries: Set<string>;
  deleted: string[];
  /** Sessions XNAT was still working on when the wait ran out, by StudyInstanceUID, with a reason to report. */
  busy: Map<string, string>;
}

export interface SettleOptions {
  signal: AbortSignal;
  /** How long to wait for XNAT to finish archiving what an interrupted run committed. */
  timeoutMs: number;
  pollIntervalMs: number;
  /** XNAT's idle auto-commit window: 5 min idle plus the job's 60 s period (docs/reference/xnat-prearchive.md#auto-commit). */
  autoCommitWindowMs?: number;
}

const AUTO_COMMIT_WINDOW_MS = 6 * 60_000;
const PROGRESS_EVERY_MS = 30_000;

/**
 * Settles the prearchive sessions an interrupted run of this tool left behind (its SOURCE tag, a StudyInstanceUID
 * the manifest lists) before planning, so the plan is built from what XNAT holds once it is done:
 * - a session XNAT is still working on (queued, archiving, building, or one it may still auto-commit) is waited
 *   for, bounded, with a progress line now and then; a killed run may have left an archive running behind a 504;
 * - a RECEIVING session is built first, since XNAT lists the scans of built sessions only;
 * - a READY session whose every scan holds all the files and all the bytes TCIA lists is committed and checked
 *   in the archive, by the study job's own last step: the transfer withholds each series' last file until the
 *   whole series has passed its MD5 check, so a full scan is verified;
 * - a CONFLICT or ERROR session is examined against the archive and deleted: when the archive holds its series
 *   complete it was a duplicate, otherwise planning sends them again;
 * - anything else is deleted, and planning sends its series again.
 */
export async function recoverLeftovers(
  xnat: XnatClient,
  project: string,
  source: string,
  metadata: ReadonlyMap<string, SeriesMetadata>,
  logger: Logger,
  options: SettleOptions,
): Promise<LeftoverOutcome> {
  const outcome: LeftoverOutcome = { committed: [], committedSeries: new Set(), deleted: [], busy: new Map() };
  const byStudy = new Map<string, SeriesMetadata[]>();
  for (const meta of metadata.values()) byStudy.set(meta.studyUid, [...(byStudy.get(meta.studyUid) ?? []), meta]);
  const mine = (row: PrearchiveRow): boolean => row.source === source && byStudy.has(row.tag);
  let rows: PrearchiveRow[];
  try {
    rows = (await xnat.listPrearchive(project)).filter(mine);
  } catch (error) {
    // Listing the prearchive needs more than read access (docs/reference/xnat-rest.md#permissions); without it there is nothing to settle.
    logger.warn(`cannot look for unfinished work in the prearchive: ${describeError(error)}`);
    return outcome;
  }
  if (rows.some((row) => isBusy(row, options))) rows = await waitWhileBusy(xnat, project, mine, options, logger);

  let archived: ArchivedSessionRow[] | undefined;
  for (const row of rows) {
    let status = bareStatus(row.status);
    if (isBusy(row, options)) {
      const reason = `XNAT was still working on prearchive session ${row.uri} (${row.status}) after ${Math.round(options.timeoutMs / 1000)} s; rerun once it is done`;
      logger.warn(reason);
      outcome.busy.set(row.tag, reason);
      continue;
    }
    try {
      if (status === 'RECEIVING') {
        // XNAT lists a session's scans only once it has built it, and an upload without dest is left unbuilt
        // (docs/reference/xnat-prearchive.md#scan-listings); the build sets the status it then has.
        await xnat.buildPrearchive(row.uri, source);
        const entry = await xnat.prearchiveEntry(row.uri);
        if (entry === undefined) continue;
        status = bareStatus(entry.status);
      }
      const held = status === 'READY' ? await wholeSeries(xnat, row.uri, byStudy.get(row.tag)!) : undefined;
      if (held) {
        const committed = await commitAndVerify(row.uri, { project, subject: row.subject, session: row.name, studyUid: row.tag },
          held.map((s) => ({ uid: s.seriesUid, imageCount: s.imageCount })),
          { xnat, logger, signal: options.signal, source, settleTimeoutMs: options.timeoutMs, pollIntervalMs: options.pollIntervalMs });
        if (committed.refusal !== undefined) {
          // XNAT refused it because the archive already holds this study; commitAndVerify removed the duplicate.
          logger.info(`prearchive session ${row.uri} left by an interrupted run duplicated the archive (${committed.refusal}); removed it`);
          outcome.deleted.push(row.uri);
        } else {
          logger.info(`committed ${row.name} left in the prearchive by an interrupted run: ${committed.archived}`);
          outcome.committed.push(row.uri);
          for (const series of held) if (!committed.problems.has(series.seriesUid)) outcome.committedSeries.add(series.seriesUid);
        }
        // Planning reads the archive afterwards, so a series found incomplete there is replaced this run.
        for (const problem of committed.problems.values()) logger.warn(`${row.name}: ${problem}; it will be sent again`);
        continue;
      }
      if (status === 'CONFLICT' || status === 'ERROR') {
        archived ??= await xnat.listSessions(project);
        const duplicate = await heldComplete(xnat, row, archived, byStudy.get(row.tag)!);
        await xnat.deletePrearchive(row.uri);
        logger.info(duplicate
          ? `removed prearchive session ${row.uri} (${row.status}): the archive already holds every series it carries, complete`
          : `deleted prearchive session ${row.uri} (${row.status}) left by an interrupted run; its series will be sent again`);
      } else {
        await xnat.deletePrearchive(row.uri);
        logger.info(`deleted incomplete prearchive session ${row.uri} left by an interrupted run; its series will be sent again`);
      }
      outcome.deleted.push(row.uri);
    } catch (error) {
      logger.warn(`could not settle prearchive session ${row.uri}: ${describeError(error)}; deleting it`);
      await xnat.deletePrearchive(row.uri).catch(() => undefined);
      outcome.deleted.push(row.uri);
    }
  }
  return outcome;
}

/** Polls the prearchive until none of our sessions is busy or the time is up; returns our rows as last listed. */
async function waitWhileBusy(xnat: XnatClient, project: string, mine: (row: PrearchiveRow) => boolean, options: SettleOptions, logger: Logger): Promise<PrearchiveRow[]> {
  const started = Date.now();
  let lastLine = '';
  let lastLineAt = 0;
  for (;;) {
    const rows = (await xnat.listPrearchive(project)).filter(mine);
    const busy = rows.filter((row) => isBusy(row, options));
    const elapsed = Date.now() - started;
    if (busy.length === 0 || elapsed >= options.timeoutMs || options.signal.aborted) return rows;
    const line = busy.map((row) => `${row.name} ${row.status}`).join(', ');
    if (line !== lastLine || Date.now() - lastLineAt >= PROGRESS_EVERY_MS) {
      logger.info(`waiting for XNAT to finish ${busy.length} prearchive session(s) an interrupted run left: ${line} (${Math.round(elapsed / 1000)} s of up to ${Math.round(options.timeoutMs / 1000)} s)`);
      lastLine = line;
      lastLineAt = Date.now();
    }
    await pause(options.pollIntervalMs, options.signal).catch(() => undefined);
  }
}

/** XNAT prefixes a status with '_' while it works on an entry (docs/reference/xnat-prearchive.md#statuses). */
function bareStatus(status: string): string {
  return status.toUpperCase().replace(/^_/, '');
}

/**
 * Whether XNAT may still change this entry on its own (docs/reference/xnat-prearchive.md#statuses): queued,
 * archiving, building, moving or deleting; or RECEIVING without prevent_auto_commit and changed within the
 * auto-commit window, which XNAT may yet archive.
 */
function isBusy(row: PrearchiveRow, options: SettleOptions): boolean {
  const status = bareStatus(row.status);
  if (status.startsWith('QUEUED_') || /(ARCHIVING|BUILDING|MOVING|DELETING|SEPARATING)$/.test(status)) return true;
  if (status !== 'RECEIVING' || row.preventAutoCommit) return false;
  // lastmod is server-local time without a zone; when it cannot be read, assume the entry changed just now.
  const changed = Date.parse(row.lastmod.replace(' ', 'T'));
  const age = Number.isNaN(changed) ? 0 : Date.now() - changed;
  return age < (options.autoCommitWindowMs ?? AUTO_COMMIT_WINDOW_MS);
}

/**
 * The series a leftover holds when every scan maps (by SeriesNumber, XNAT's scan ID) to exactly one series of the
 * study and holds all its files; undefined otherwise.
 * A leftover holding only part of a study whose series differ in modality is not committed: the rest would
 * follow as a session of another type, which XNAT refuses to merge (docs/reference/xnat-prearchive.md#conflicts).
 */
async function wholeSeries(xnat: XnatClient, uri: string, series: SeriesMetadata[]): Promise<SeriesMetadata[] | undefined> {
  const scans = await xnat.prearchiveScans(uri);
  if (scans.length === 0) return undefined;
  const held = new Set<SeriesMetadata>();
  const whole = scans.every((scan) => {
    const matches = series.filter((s) => s.seriesNumber !== '' && String(Number(s.seriesNumber)) === scan.id);
    const meta = matches[0];
    if (matches.length !== 1 || !meta || meta.imageCount === 0 || scan.fileCount !== meta.imageCount) return false;
    // A killed upload leaves the file it was sending cut short, yet counted (docs/reference/xnat-prearchive.md#file-names):
    // only the bytes TCIA publishes for the series tell a whole scan. A script that rewrote the files on import, or
    // a size NBIA did not give, makes the scan look unfinished: it is sent again, never committed unchecked.
    if (meta.fileSize === 0 || scan.bytes !== meta.fileSize) return false;
    held.add(meta);
    return true;
  });
  return whole && (held.size === series.length || new Set(series.map((s) => s.modality)).size === 1) ? [...held] : undefined;
}

/** Whether the archived session of this study under the entry's label holds every scan the entry carries, complete. */
async function heldComplete(xnat: XnatClient, row: PrearchiveRow, archived: ArchivedSessionRow[], series: SeriesMetadata[]): Promise<boolean> {
  const session = archived.find((s) => s.label === row.name && s.studyUid === row.tag);
  if (!session) return false;
  const held = (await xnat.sessionScans(session.id))?.scans ?? [];
  const scans = await xnat.prearchiveScans(row.uri);
  return scans.every((scan) => {
    const archivedScan = held.find((h) => h.id === scan.id);
    const meta = series.find((s) => s.seriesUid === archivedScan?.seriesUid);
    return archivedScan !== undefined && meta !== undefined && archivedScan.fileCount === meta.imageCount;
  });
}
