import { describeError } from '../errors.js';
import { archiveAfterRefusal, checkArchivedSeries, commitSession } from '../finalize/commit-study.js';
import type { Logger } from '../log.js';
import type { Plan, PlannedSeries, PlannedStudy } from '../plan/build-plan.js';
import { formatMB } from '../plan/plan-table.js';
import type { Progress } from '../progress.js';
import type { RetryPolicy } from '../retry.js';
import type { NbiaClient } from '../tcia/nbia-client.js';
import type { XnatClient } from '../xnat/xnat-client.js';
import { forEachLimit } from '../concurrency.js';
import { IMPORT_SOURCE, SeriesFailure, transferSeries, type SeriesTransfer } from './transfer-series.js';

export interface SeriesResult {
  status: 'imported' | 'failed';
  subject?: string;
  files: number;
  bytes: number;
  md5Verified: number;
  attempts: number;
  error: string;
}

export interface StudiesDeps {
  nbia: NbiaClient;
  xnat: XnatClient;
  logger: Logger;
  retry: RetryPolicy;
  signal: AbortSignal;
  project: string;
  progress: Progress;
  concurrency: number;
  settleTimeoutMs: number;
  pollIntervalMs: number;
}

/**
 * Moves every planned study. Up to `concurrency` studies are in flight; the series of one study go one at a
 * time because XNAT locks a session while it takes files, and parallel work on one session ends in 423/409
 * (xnat-rest-api.md §9.9). Each study is committed as soon as its series are in.
 */
export async function transferStudies(plan: Plan, deps: StudiesDeps): Promise<Map<string, SeriesResult>> {
  const results = new Map<string, SeriesResult>();
  await forEachLimit(plan.studies, deps.concurrency, (study) => moveStudy(study, deps, results), () => deps.signal.aborted);
  return results;
}

async function moveStudy(study: PlannedStudy, deps: StudiesDeps, results: Map<string, SeriesResult>): Promise<void> {
  const log = deps.logger.child({ study: study.studyUid, session: study.session });
  const done = new Map<string, SeriesTransfer>();
  let subject = study.subject;
  let prearchiveUri: string | undefined;
  let tainted = false;

  const fail = (series: PlannedSeries, error: unknown, attempts = 0): void => {
    results.set(series.uid, { status: 'failed', subject, files: 0, bytes: 0, md5Verified: 0, attempts, error: describeError(error) });
    log.error({ series: series.uid }, `series ${series.uid} failed: ${describeError(error)}`);
  };

  const moveAll = async (list: PlannedSeries[]): Promise<void> => {
    for (const series of list) {
      if (deps.signal.aborted) return;
      try {
        if (series.action === 'redo' && series.sessionId && series.existingScan) {
          // A partial scan cannot be completed by a merge: the files it has would clash with "matching files" (§4).
          log.info({ series: series.uid }, `scan ${series.existingScan.id} holds ${series.existingScan.fileCount} of ${series.meta!.imageCount} files; replacing it`);
          await deps.xnat.deleteScan(series.sessionId, series.existingScan.id);
          series.existingScan = undefined;
        }
        const moved = await transferSeries(
          { meta: series.meta!, project: deps.project, subject, session: study.session },
          { nbia: deps.nbia, xnat: deps.xnat, logger: deps.logger, retry: deps.retry, signal: deps.signal, onBytes: (n) => deps.progress.addBytes(n) },
        );
        subject = moved.subject;
        prearchiveUri = moved.prearchiveUri;
        done.set(series.uid, moved);
        deps.progress.seriesFinished(true, moved.files);
        log.info({ series: series.uid, files: moved.files, bytes: moved.bytes, attempts: moved.attempts },
          `series ${series.uid} → ${subject}/${study.session}: ${moved.files} files, ${formatMB(moved.bytes)} MB, MD5 verified${moved.attempts > 1 ? ` (attempt ${moved.attempts})` : ''}`);
      } catch (error) {
        const failure = error instanceof SeriesFailure ? error : new SeriesFailure(error, 0, false);
        if (failure.touchedXnat) tainted = true;
        if (!deps.signal.aborted) {
          deps.progress.seriesFinished(false, 0);
          fail(series, failure.cause, failure.attempts);
        }
      }
    }
  };

  await moveAll(study.series);

  if (tainted) {
    // A series that failed part-way may have left files in the prearchive session; committing it would archive
    // a partial scan. Drop the session and send the good series again into a clean one.
    await dropPrearchive(study, prearchiveUri, deps, log);
    prearchiveUri = undefined;
    tainted = false;
    const again = study.series.filter((s) => done.has(s.uid));
    done.clear();
    if (deps.signal.aborted) {
      for (const s of again) fail(s, new Error('run stopped before its session was committed'));
      return;
    }
    if (again.length > 0) {
      log.warn(`re-sending ${again.length} series of session ${study.session} into a clean prearchive session`);
      await moveAll(again);
      if (tainted) {
        await dropPrearchive(study, prearchiveUri, deps, log);
        for (const s of again) if (done.has(s.uid)) fail(s, new Error('another series of its session failed part-way twice'));
        return;
      }
    }
  }
  if (done.size === 0 || !prearchiveUri) return;
  if (deps.signal.aborted) {
    // Stopping: a session whose series all arrived whole is still worth committing quickly.
    log.info('stopping: committing the series already received for this session');
  }

  const archivePath = `/data/archive/projects/${deps.project}/subjects/${subject}/experiments/${study.session}`;
  try {
    const archived = await commitSession(prearchiveUri, archivePath, {
      xnat: deps.xnat, logger: log, signal: new AbortController().signal, source: IMPORT_SOURCE,
      settleTimeoutMs: deps.settleTimeoutMs, pollIntervalMs: deps.pollIntervalMs,
    });
    const session = await deps.xnat.sessionScans(archived);
    const problems = checkArchivedSeries(
      study.series.filter((s) => done.has(s.uid)).map((s) => ({ uid: s.uid, imageCount: s.meta!.imageCount })),
      session?.scans ?? [],
    );
    for (const [uid, moved] of done) {
      const problem = problems.get(uid);
      if (problem) fail(study.series.find((s) => s.uid === uid)!, new Error(problem), moved.attempts);
      else results.set(uid, { status: 'imported', subject, files: moved.files, bytes: moved.bytes, md5Verified: moved.md5Verified, attempts: moved.attempts, error: '' });
    }
    log.info(`committed session ${study.session} (subject ${subject}): ${done.size - problems.size} series archived and verified at ${archived}`);
  } catch (error) {
    const refused = new Error(`commit of session ${study.session} failed: ${describeError(error)}`);
    // Look at the archive before reporting: the same study may already be archived there, complete.
    const expected = study.series.filter((s) => done.has(s.uid)).map((s) => ({ uid: s.uid, imageCount: s.meta!.imageCount }));
    const problems = await archiveAfterRefusal(deps.xnat, deps.project, study.session, study.studyUid, expected, error).catch(() => undefined);
    if (!problems) {
      for (const uid of done.keys()) fail(study.series.find((s) => s.uid === uid)!, refused, done.get(uid)!.attempts);
      return;
    }
    // The refused entry duplicates what the archive holds; it must not stay in the prearchive.
    await deps.xnat.deletePrearchive(prearchiveUri).then(
      () => log.info(`removed duplicate prearchive session ${prearchiveUri}`),
      (e: unknown) => log.warn(`could not remove prearchive session ${prearchiveUri}: ${describeError(e)}`),
    );
    for (const [uid, moved] of done) {
      const problem = problems.get(uid);
      if (problem) fail(study.series.find((s) => s.uid === uid)!, new Error(`${refused.message}; ${problem}`), moved.attempts);
      else results.set(uid, { status: 'imported', subject, files: moved.files, bytes: moved.bytes, md5Verified: moved.md5Verified, attempts: moved.attempts, error: '' });
    }
    log.info(`XNAT refused the commit of ${study.session} (${describeError(error)}), but its archive already holds ${done.size - problems.size} of these ${done.size} series complete`);
  }
}

async function dropPrearchive(study: PlannedStudy, uri: string | undefined, deps: StudiesDeps, log: Logger): Promise<void> {
  try {
    const uris = uri ? [uri] : (await deps.xnat.listPrearchive(deps.project)).filter((r) => r.tag === study.studyUid && r.name === study.session).map((r) => r.uri);
    for (const u of uris) {
      await deps.xnat.deletePrearchive(u);
      log.info(`removed partial prearchive session ${u}`);
    }
  } catch (error) {
    log.error(`could not remove the partial prearchive session of ${study.session}: ${describeError(error)}`);
  }
}
