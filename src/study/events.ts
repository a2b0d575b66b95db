import type { PlannedSeries, PlannedStudy } from '../plan/build-plan.js';
import type { SeriesTransfer } from '../transfer/transfer-series.js';

export interface SeriesEvent {
  study: PlannedStudy;
  series: PlannedSeries;
}

/**
 * What a study job tells the world as it goes. The progress bar and the log are observers of these; the job
 * itself only returns each series' outcome.
 */
export interface StudyEvents {
  /** An attempt at a series starts; whatever an earlier attempt sent goes out again. */
  seriesStarted(event: SeriesEvent): void;
  /** DICOM bytes of the series handed to XNAT's upload. */
  seriesProgressed(event: SeriesEvent & { bytes: number }): void;
  /** The series is in the prearchive session, every file checked against TCIA's MD5 list. */
  seriesSent(event: SeriesEvent & { subject: string; sent: SeriesTransfer }): void;
  /** The series will not be in XNAT this run; `whileSending` when it broke off during its own transfer. */
  seriesFailed(event: SeriesEvent & { error: unknown; attempts: number; whileSending: boolean }): void;
  /**
   * The study's prearchive session is archived (or XNAT refused it because the archive already held it: `refusal`)
   * and `verified` of its `sent` series were found complete there.
   */
  studyCommitted(event: { study: PlannedStudy; subject: string; archived: string; sent: number; verified: number; refusal?: string }): void;
}

/** One event stream fanned out to several observers, each listening to the events it cares about. */
export function observeStudies(...observers: Partial<StudyEvents>[]): StudyEvents {
  const fanOut = <K extends keyof StudyEvents>(name: K) =>
    ((event: Parameters<StudyEvents[K]>[0]) => {
      for (const observer of observers) (observer[name] as ((e: typeof event) => void) | undefined)?.(event);
    }) as StudyEvents[K];
  return {
    seriesStarted: fanOut('seriesStarted'),
    seriesProgressed: fanOut('seriesProgressed'),
    seriesSent: fanOut('seriesSent'),
    seriesFailed: fanOut('seriesFailed'),
    studyCommitted: fanOut('studyCommitted'),
  };
}
