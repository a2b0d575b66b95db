import { setTimeout as sleep } from 'node:timers/promises';
import { describeError, XnatHttpError } from '../errors.js';
import { commitAndVerify } from '../finalize/commit-study.js';
import type { SeriesOutcome } from '../finalize/report.js';
import type { Logger } from '../log.js';
import type { PlannedSeries, PlannedStudy } from '../plan/build-plan.js';
import { IMPORT_SOURCE, SeriesFailure, transferSeries, type SeriesTransfer, type TransferDeps } from '../transfer/transfer-series.js';
import { forEachLimit } from '../concurrency.js';
import type { StudyEvents } from './events.js';

/** What each series' transfer needs (`source`: src/sources/route.ts), plus the study's own settings. */
export interface StudyJobDeps extends Pick<TransferDeps, 'nbia' | 'source' | 'xnat' | 'logger' | 'retry' | 'signal'> {
  project: string;
  settleTimeoutMs: number;
  pollIntervalMs: number;
  events: StudyEvents;
}

/**
 * Runs the study jobs, up to `concurrency` at once. The series of one study go one at a time because XNAT locks a
 * session while it takes files, and parallel work on one session ends in 423/409
 * (docs/reference/xnat-rest.md#receiving-and-locking).
 * Returns the outcome of every series a job got to; a series missing from it was not started.
 */
export async function runStudyJobs(studies: readonly PlannedStudy[], concurrency: number, deps: StudyJobDeps): Promise<Map<string, SeriesOutcome>> {
  const outcomes = new Map<string, SeriesOutcome>();
  await forEachLimit(studies, concurrency, async (study) => {
    for (const [uid, outcome] of await runStudyJob(study, deps)) outcomes.set(uid, outcome);
  }, () => deps.signal.aborted);
  return outcomes;
}

/**
 * Owns one study from first byte to verified archive: sends its series into one prearchive session; when a series
 * failed part-way, drops that session and sends the good series again into a clean one; commits; checks the archive.
 * The plan is read, never changed.
 */
export async function runStudyJob(study: PlannedStudy, deps: StudyJobDeps): Promise<Map<string, SeriesOutcome>> {
  const log = deps.logger.child({ study: study.studyUid, session: study.session });
  const { events } = deps;
  const outcomes = new Map<string, SeriesOutcome>();
  const sent = new Map<string, SeriesTransfer>();
  /** Scans of 'redo' series this job already deleted, so a resend does not delete them again. */
  const replaced = new Set<string>();
  const { subject } = study;
  // What XNAT is told: the accession ID of the subject of a session it holds, else the label (PlannedStudy.subjectId).
  const subjectRef = study.subjectId || subject;
  let prearchiveUri: string | undefined;
  let tainted = false;

  const fail = (series: PlannedSeries, error: unknown, attempts = 0, whileSending = false): void => {
    outcomes.set(series.uid, { status: 'failed', files: 0, bytes: 0, md5Verified: 0, attempts, error: describeError(error) });
    events.seriesFailed({ study, series, error, attempts, whileSending });
  };

  const sendAll = async (list: PlannedSeries[]): Promise<void> => {
    for (const series of list) {
      if (deps.signal.aborted) return;
      try {
        const scan = series.existingScan;
        if (series.action === 'redo' && series.sessionId && scan && !replaced.has(series.uid)) {
          // A partial scan cannot be completed by a merge: the files it has would clash with "matching files"
          // (docs/reference/xnat-rest.md#archive-conflicts).
          log.info({ series: series.uid }, `scan ${scan.id} holds ${scan.fileCount} of ${series.meta!.imageCount} files; replacing it`);
          await deleteScan(deps, series.sessionId, scan.id, study.session);
          replaced.add(series.uid);
        }
        const moved = await transferSeries(
          { meta: series.meta!, project: deps.project, subject: subjectRef, session: study.session },
          { nbia: deps.nbia, source: deps.source, xnat: deps.xnat, logger: deps.logger, retry: deps.retry, signal: deps.signal,
            onBytes: (bytes) => events.seriesProgressed({ study, series, bytes }), onAttempt: () => events.seriesStarted({ study, series }) },
        );
        prearchiveUri = moved.prearchiveUri;
        sent.set(series.uid, moved);
        events.seriesSent({ study, series, subject, sent: moved });
      } catch (error) {
        const failure = error instanceof SeriesFailure ? error : new SeriesFailure(error, 0, false);
        if (failure.touchedXnat) tainted = true;
        // A series a stop broke off is reported as not started: the next run sends it.
        if (!deps.signal.aborted) fail(series, failure.cause, failure.attempts, true);
      }
    }
  };

  await sendAll(study.series);

  if (tainted) {
    // A series that failed part-way may have left files in the prearchive session; committing it would archive
    // a partial scan. Drop the session and send the good series again into a clean one.
    await dropPrearchive(study, prearchiveUri, deps, log);
    prearchiveUri = undefined;
    tainted = false;
    const again = study.series.filter((s) => sent.has(s.uid));
    sent.clear();
    if (deps.signal.aborted) {
      for (const s of again) fail(s, new Error('run stopped before its session was committed'));
      return outcomes;
    }
    if (again.length > 0) {
      log.warn(`re-sending ${again.length} series of session ${study.session} into a clean prearchive session`);
      await sendAll(again);
      if (tainted) {
        await dropPrearchive(study, prearchiveUri, deps, log);
        for (const s of again) if (sent.has(s.uid)) fail(s, new Error('another series of its session failed part-way twice'));
        return outcomes;
      }
    }
  }
  if (sent.size === 0 || !prearchiveUri) return outcomes;
  // Stopping: a session whose series all arrived whole is still worth committing quickly.
  if (deps.signal.aborted) log.info('stopping: committing the series already received for this session');

  const inSession = study.series.filter((s) => sent.has(s.uid));
  try {
    const committed = await commitAndVerify(
      prearchiveUri,
      { project: deps.project, subject: subjectRef, session: study.session, studyUid: study.studyUid },
      // Without NBIA's count (metadata read from IDC) the count IDC listed, and the relay matched, is the one to check.
      inSession.map((s) => ({ uid: s.uid, imageCount: s.meta!.imageCount || sent.get(s.uid)!.files })),
      { xnat: deps.xnat, logger: log, signal: new AbortController().signal, source: IMPORT_SOURCE, settleTimeoutMs: deps.settleTimeoutMs, pollIntervalMs: deps.pollIntervalMs },
    );
    for (const series of inSession) {
      const moved = sent.get(series.uid)!;
      const problem = committed.problems.get(series.uid);
      if (problem) fail(series, new Error(problem), moved.attempts);
      else {
        const { files, bytes, md5Verified, attempts, source, verified, startedMs, endedMs } = moved;
        outcomes.set(series.uid, { status: 'imported', files, bytes, md5Verified, attempts, error: '', source, verified, startedMs, endedMs });
      }
    }
    noteSubjectUsed(study, subjectRef, committed.archived, log);
    events.studyCommitted({ study, subject, archived: committed.archived, sent: sent.size, verified: sent.size - committed.problems.size, refusal: committed.refusal });
  } catch (error) {
    for (const series of inSession) fail(series, error, sent.get(series.uid)!.attempts);
  }
  return outcomes;
}

/** Removes a partial scan; XNAT lets only Owners delete scans (docs/reference/xnat-rest.md#project-group-rights), so a 403 names who can. */
async function deleteScan(deps: StudyJobDeps, sessionId: string, scanId: string, session: string): Promise<void> {
  try {
    await deps.xnat.deleteScan(sessionId, scanId);
  } catch (error) {
    if (!(error instanceof XnatHttpError) || error.status !== 403) throw error;
    const hint = `an Owner of project ${deps.project} must delete scan ${scanId} of session ${session}, or run as an Owner`;
    throw new XnatHttpError(403, error.method, error.url, error.message, { hint, cause: error });
  }
}

/** Rounds of delete-then-look in dropPrearchive. */
const DROP_PASSES = 3;

async function dropPrearchive(study: PlannedStudy, uri: string | undefined, deps: StudyJobDeps, log: Logger): Promise<void> {
  const matching = async (): Promise<string[]> =>
    (await deps.xnat.listPrearchive(deps.project)).filter((r) => r.tag === study.studyUid && r.name === study.session).map((r) => r.uri);
  try {
    let uris = uri ? [uri] : await matching();
    // XNAT may still be reading what a broken-off upload left in its socket, and a file it completes after the delete
    // opens a new session: look again after a poll interval, a few times, until none is left.
    for (let pass = 0; uris.length > 0 && pass < DROP_PASSES; pass++) {
      for (const u of uris) {
        await deps.xnat.deletePrearchive(u);
        log.info(`removed partial prearchive session ${u}`);
      }
      await sleep(deps.pollIntervalMs);
      uris = await matching();
    }
    if (uris.length > 0) log.error(`partial prearchive sessions of ${study.session} keep appearing: ${uris.join(', ')}`);
  } catch (error) {
    log.error(`could not remove the partial prearchive session of ${study.session}: ${describeError(error)}`);
  }
}

/**
 * The archive URI names the subject XNAT filed the session under (buildURI). It can differ from the plan's label:
 * XNAT matches labels ignoring case, and a subject shared in from another project goes by its owner's label
 * (docs/reference/xnat-rest.md#labels). The report names the one XNAT used.
 */
function noteSubjectUsed(study: PlannedStudy, sent: string, archived: string, log: Logger): void {
  const used = /\/subjects\/([^/]+)\/experiments\//.exec(archived)?.[1];
  // The path the tool built itself (a lost commit answer) names what was sent, which says nothing new.
  if (!used || used === sent || used === study.subject) return;
  log.info(`XNAT archived session ${study.session} under subject ${used}, not ${study.subject}; the report names ${used}`);
  for (const series of study.series) series.subject = used;
}
