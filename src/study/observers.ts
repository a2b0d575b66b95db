import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { PlannedStudy } from '../plan/build-plan.js';
import { formatMB } from '../plan/plan-table.js';
import type { Progress } from '../progress.js';
import type { StudyEvents } from './events.js';

/** Feeds the progress bar: bytes as they go, a series taken back when it starts again, done or failed. */
export function progressObserver(progress: Progress): Partial<StudyEvents> {
  return {
    seriesStarted: ({ series }) => progress.restartSeries(series.uid),
    seriesProgressed: ({ series, bytes }) => progress.addBytes(series.uid, bytes),
    seriesSent: ({ series, sent }) => progress.seriesFinished(series.uid, true, sent.files, series.meta!.fileSize),
    // Only a series that broke off while it was being sent leaves the bar's total; later failures were counted sent.
    seriesFailed: ({ series, whileSending }) => {
      if (whileSending) progress.seriesFinished(series.uid, false, 0, series.meta!.fileSize);
    },
  };
}

/** One line per series sent or failed and per study committed. */
export function logObserver(logger: Logger): Partial<StudyEvents> {
  const forStudy = (study: PlannedStudy): Logger => logger.child({ study: study.studyUid, session: study.session });
  return {
    seriesSent: ({ study, series, subject, sent }) =>
      forStudy(study).info({ series: series.uid, files: sent.files, bytes: sent.bytes, attempts: sent.attempts },
        `series ${series.uid} → ${subject}/${study.session}: ${sent.files} files, ${formatMB(sent.bytes)} MB, MD5 verified${sent.attempts > 1 ? ` (attempt ${sent.attempts})` : ''}`),
    seriesFailed: ({ study, series, error }) => forStudy(study).error({ series: series.uid }, `series ${series.uid} failed: ${describeError(error)}`),
    studyCommitted: ({ study, subject, archived, sent, verified, refusal }) =>
      forStudy(study).info(refusal === undefined
        ? `committed session ${study.session} (subject ${subject}): ${verified} series archived and verified at ${archived}`
        : `XNAT refused the commit of ${study.session} (${refusal}), but its archive already holds ${verified} of these ${sent} series complete`),
  };
}
