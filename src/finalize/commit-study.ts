import { ConnectionError, XnatHttpError, PrearchiveStateError, XtdError, describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { pause } from '../retry.js';
import type { ArchivedScan, XnatClient } from '../xnat/xnat-client.js';

export interface CommitDeps {
  xnat: XnatClient;
  logger: Logger;
  signal: AbortSignal;
  source: string;
  /** How long to wait for XNAT to settle an archive whose answer was lost. */
  settleTimeoutMs: number;
  pollIntervalMs: number;
}

/**
 * Archives one prearchive session and returns the archive path. A 504 or dropped connection during the commit is
 * never blindly re-sent: a long synchronous archive can outlive the proxy's timeout and still complete
 * (docs/reference/xnat-rest.md#proxy-timeouts), so the outcome is read from the prearchive and the archive.
 */
export async function commitSession(prearchiveUri: string, archivePath: string, deps: CommitDeps, subject?: string): Promise<string> {
  try {
    const outcome = await deps.xnat.commit(prearchiveUri, deps.source, subject);
    if (outcome.archived) return outcome.uri || archivePath;
    // A 200 means XNAT only built the session; archive it explicitly.
    return await deps.xnat.archive(prearchiveUri, subject);
  } catch (error) {
    if (!isLostAnswer(error)) throw error;
    deps.logger.warn({ prearchiveUri }, `commit answer lost (${(error as Error).message}); waiting for XNAT to settle`);
    return settle(prearchiveUri, archivePath, deps, subject);
  }
}

async function settle(prearchiveUri: string, archivePath: string, deps: CommitDeps, subject?: string): Promise<string> {
  const deadline = Date.now() + deps.settleTimeoutMs;
  let recommitted = false;
  while (Date.now() < deadline) {
    await pause(deps.pollIntervalMs, deps.signal);
    const entry = await deps.xnat.prearchiveEntry(prearchiveUri).catch(() => ({ status: 'UNKNOWN' }));
    if (entry === undefined) {
      const archived = await deps.xnat.sessionScans(archivePath).catch(() => undefined);
      if (archived) return archivePath;
      continue;
    }
    // Still READY (or back to it) with nothing archiving: the commit never happened, so one more is safe.
    if (!recommitted && ['READY', 'RECEIVING'].includes(entry.status.toUpperCase())) {
      recommitted = true;
      try {
        const outcome = await deps.xnat.commit(prearchiveUri, deps.source, subject);
        return outcome.archived ? outcome.uri || archivePath : await deps.xnat.archive(prearchiveUri, subject);
      } catch (error) {
        if (!isLostAnswer(error)) throw error;
      }
    }
    if (['CONFLICT', 'ERROR'].includes(entry.status.toUpperCase())) {
      throw new PrearchiveStateError(prearchiveUri, entry.status);
    }
  }
  throw new XtdError('ERR_COMMIT_UNSETTLED', `XNAT did not finish archiving ${prearchiveUri} within ${Math.round(deps.settleTimeoutMs / 1000)} s`, {
    hint: 'check the prearchive in XNAT; a rerun will finish or redo the session',
  });
}

function isLostAnswer(error: unknown): boolean {
  if (error instanceof XnatHttpError) return [502, 503, 504].includes(error.status);
  return error instanceof ConnectionError && error.retryable;
}

export interface ExpectedSeries {
  uid: string;
  imageCount: number;
}

export interface CommitOutcome {
  /** The archived session's path. */
  archived: string;
  /** A reason per expected series the archive does not hold complete; empty when every one is there. */
  problems: Map<string, string>;
  /** Why XNAT refused the commit, when it did so because the archive already held this study. */
  refusal?: string;
}

/**
 * The study's last step, shared by the study job and the recovery of an interrupted run's leftovers: commit the
 * prearchive session, then check the archive holds every expected series with all its files. A refusal stands
 * (thrown, as "commit of session … failed") unless the archive already holds a session of this study under the
 * label; then the refused entry, when a duplicate, is removed from the prearchive, and otherwise left there for a
 * manual merge.
 */
export async function commitAndVerify(
  prearchiveUri: string,
  target: { project: string; subject: string; session: string; studyUid: string },
  expected: ExpectedSeries[],
  deps: CommitDeps,
): Promise<CommitOutcome> {
  const archivePath = `/data/archive/projects/${target.project}/subjects/${target.subject}/experiments/${target.session}`;
  try {
    // The subject is named again: an entry an earlier run left refused keeps the subject it was built with.
    const archived = await commitSession(prearchiveUri, archivePath, deps, target.subject);
    const session = await deps.xnat.sessionScans(archived);
    return { archived, problems: checkArchivedSeries(expected, session?.scans ?? []) };
  } catch (error) {
    const refused = new Error(`commit of session ${target.session} failed: ${describeError(error)}`);
    // Look at the archive before reporting: the same study may already be archived there, complete.
    const problems = await archiveAfterRefusal(deps.xnat, target.project, target.session, target.studyUid, expected, error).catch(() => undefined);
    if (!problems) throw refused;
    if (problems.size === 0) {
      // The refused entry duplicates what the archive holds; it must not stay in the prearchive.
      await deps.xnat.deletePrearchive(prearchiveUri).then(
        () => deps.logger.info(`removed duplicate prearchive session ${prearchiveUri}`),
        (e: unknown) => deps.logger.warn(`could not remove prearchive session ${prearchiveUri}: ${describeError(e)}`),
      );
    } else {
      // It carries series the archive lacks (a session of another type, say, which XNAT will not merge into):
      // no duplicate, so it stays where an admin can merge it by hand, as XNAT's message advises.
      deps.logger.warn(`left prearchive session ${prearchiveUri} for a manual merge: it holds series the archived session ${target.session} lacks, and XNAT refused it (${describeError(error)})`);
    }
    for (const [uid, problem] of problems) problems.set(uid, `${refused.message}; ${problem}`);
    return { archived: archivePath, problems, refusal: describeError(error) };
  }
}

/**
 * XNAT refused to archive a session (409 "Session already exists with matching files" and the like, 400/500 on other
 * paths: docs/reference/xnat-prearchive.md#conflicts). When the archive holds a session of the same study under
 * that label, the refusal may only mean another archive of the same files got there first — a background archive
 * of an interrupted run, say — so this returns what is missing or incomplete there, per series (an empty map: all
 * of them are archived complete). Undefined when the refusal stands: no such session, or one of another
 * StudyInstanceUID under the label.
 */
export async function archiveAfterRefusal(
  xnat: XnatClient,
  project: string,
  label: string,
  studyUid: string,
  expected: ExpectedSeries[],
  error: unknown,
): Promise<Map<string, string> | undefined> {
  const refused = error instanceof PrearchiveStateError || (error instanceof XnatHttpError && [400, 409, 500].includes(error.status));
  if (!refused) return undefined;
  const held = (await xnat.listSessions(project)).find((s) => s.label === label);
  if (!held || held.studyUid !== studyUid) return undefined;
  return checkArchivedSeries(expected, (await xnat.sessionScans(held.id))?.scans ?? []);
}

/** Compares what XNAT archived with what TCIA listed; returns a reason per series that is not complete. */
export function checkArchivedSeries(expected: ExpectedSeries[], scans: ArchivedScan[]): Map<string, string> {
  const problems = new Map<string, string>();
  for (const series of expected) {
    const scan = scans.find((s) => s.seriesUid === series.uid);
    if (!scan) problems.set(series.uid, 'XNAT has no scan for this series after the commit');
    else if (series.imageCount > 0 && scan.fileCount !== series.imageCount) {
      problems.set(series.uid, `XNAT scan ${scan.id} holds ${scan.fileCount} files, TCIA lists ${series.imageCount}`);
    }
  }
  return problems;
}
