import type { PlannedSeries, Plan } from '../plan/build-plan.js';
import { megabytesPerSecond } from '../progress.js';
import { formatSize } from '../units.js';
import type { RunReport, SeriesOutcome, SeriesReportRow, SeriesStatus } from './report.js';

/** What the run knows when it sums up: the study jobs' outcomes and why the rest were not sent. */
export interface RunOutcomes {
  dryRun: boolean;
  /** The study jobs' outcomes, by SeriesInstanceUID; a planned series missing here was not started. */
  sent: ReadonlyMap<string, SeriesOutcome>;
  /** Why a planned series was not started (a stop, a study XNAT was still archiving). */
  notStarted: (series: PlannedSeries) => string;
}

const NOTHING = { files: 0, bytes: 0, md5Verified: 0, attempts: 0, error: '' };

/** The outcome of one manifest series: from its study job, or from the plan when no job sent it. */
export function seriesOutcome(series: PlannedSeries, run: RunOutcomes): SeriesOutcome {
  if (series.action === 'unknown') return { ...NOTHING, status: 'unknown-at-tcia', error: run.dryRun ? '' : 'TCIA has no public series with this UID' };
  if (series.action === 'skip') return { ...NOTHING, status: 'already-in-xnat', files: run.dryRun ? 0 : series.existingScan?.fileCount ?? 0 };
  if (run.dryRun) return { ...NOTHING, status: 'planned', bytes: series.meta?.fileSize ?? 0 };
  return run.sent.get(series.uid) ?? { ...NOTHING, status: 'not-started', error: run.notStarted(series) };
}

/** The report's rows, in manifest order; a series in XNAT links its session (not in a dry run, which sent nothing). */
export function reportRows(plan: Plan, run: RunOutcomes, xnat: { host: string; project: string }): SeriesReportRow[] {
  return plan.series.map((series) => {
    const outcome = seriesOutcome(series, run);
    const subject = series.subject ?? '';
    const linked = !run.dryRun && (outcome.status === 'imported' || outcome.status === 'already-in-xnat');
    return {
      seriesUid: series.uid,
      studyUid: series.meta?.studyUid ?? '',
      patientId: series.meta?.patientId ?? '',
      subject,
      session: series.session ?? '',
      modality: series.meta?.modality ?? '',
      seriesDescription: series.meta?.seriesDescription ?? '',
      studyDate: series.meta?.studyDate ?? '',
      collection: series.meta?.collection ?? '',
      license: series.meta?.license ?? '',
      licenseUri: series.meta?.licenseUri ?? '',
      sessionUrl: linked ? sessionUrl(xnat.host, xnat.project, subject, series.session) : '',
      status: outcome.status,
      imagesExpected: series.meta?.imageCount ?? 0,
      files: outcome.files,
      bytes: outcome.bytes,
      md5Verified: outcome.md5Verified,
      attempts: outcome.attempts,
      error: outcome.error,
    };
  });
}

/** The archived session's address; XNAT serves it by project, subject and session label. */
function sessionUrl(host: string, project: string, subject: string, session: string | undefined): string {
  return subject && session ? `${host}/data/projects/${project}/subjects/${subject}/experiments/${session}` : '';
}

/** Counts the rows into the report's totals; bytes and files are those of series imported this run. */
export function countTotals(rows: SeriesReportRow[], transferSeconds: number): RunReport['totals'] {
  const count = (status: SeriesStatus): number => rows.filter((r) => r.status === status).length;
  const imported = rows.filter((r) => r.status === 'imported');
  const bytes = imported.reduce((n, r) => n + r.bytes, 0);
  return {
    series: rows.length,
    imported: imported.length,
    alreadyInXnat: count('already-in-xnat'),
    failed: count('failed'),
    notStarted: count('not-started'),
    unknown: count('unknown-at-tcia'),
    files: imported.reduce((n, r) => n + r.files, 0),
    bytes,
    seconds: Math.round(transferSeconds * 10) / 10,
    mbPerSecond: Number(megabytesPerSecond(bytes, transferSeconds)),
  };
}

/** The run's last line: what happened, the exit code and why. */
export function summaryLine(report: RunReport, transferSeconds: number): string {
  const { totals } = report;
  // A run that stopped on its input or setup has already logged that error; one message per mistake.
  if (report.series.length === 0 && report.exitCode !== 0) return `summary: nothing imported; exit ${report.exitCode}: stopped on the error above`;
  const rate = megabytesPerSecond(totals.bytes, transferSeconds);
  const sessions = new Set(report.series.filter((r) => r.status === 'imported').map((r) => r.session)).size;
  const notStarted = totals.notStarted > 0 ? `, ${totals.notStarted} not started` : '';
  const planned = report.series.filter((r) => r.status === 'planned');
  const done = report.dryRun
    ? `${planned.length} to import (${formatSize(planned.reduce((n, r) => n + r.bytes, 0))}) into ${new Set(planned.map((r) => r.session)).size} session(s), ${totals.alreadyInXnat} already in XNAT, ${totals.unknown} unknown at TCIA`
    : `${totals.imported} imported into ${sessions} session(s), ${totals.alreadyInXnat} already in XNAT, ${totals.failed} failed${notStarted}, ${totals.unknown} unknown at TCIA; ${totals.files} files, ${formatSize(totals.bytes)} in ${totals.seconds} s (${rate} MB/s)`;
  return `summary: ${done}; exit ${report.exitCode}: ${report.outcome}`;
}
