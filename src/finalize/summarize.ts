import type { PlannedSeries, Plan } from '../plan/build-plan.js';
import { megabytesPerSecond } from '../progress.js';
import { formatSize } from '../units.js';
import type { SourceName } from '../sources/types.js';
import type { RunReport, SeriesOutcome, SeriesReportRow, SeriesStatus, SourceTotals } from './report.js';

/** What the run knows when it sums up: the study jobs' outcomes and why the rest were not sent. */
export interface RunOutcomes {
  dryRun: boolean;
  /** The study jobs' outcomes, by SeriesInstanceUID; a planned series missing here was not started. */
  sent: ReadonlyMap<string, SeriesOutcome>;
  /** Why a planned series was not started (a stop, a study XNAT was still archiving). */
  notStarted: (series: PlannedSeries) => string;
  /** Why a series is unknown, when not because TCIA lacks it (--source idc: IDC's index lacks it). */
  unknownReason?: string;
  /** Series this run committed from an interrupted run's prearchive leftover: imported now, though planned as there. */
  recovered?: ReadonlySet<string>;
  /** What a source found doubtful about a series it served (an IDC listing short of the index's size), by UID. */
  warnings?: ReadonlyMap<string, string>;
}

const NOTHING = { files: 0, bytes: 0, md5Verified: 0, attempts: 0, error: '' };

/** The outcome of one manifest series: from its study job, or from the plan when no job sent it. */
export function seriesOutcome(series: PlannedSeries, run: RunOutcomes): SeriesOutcome {
  // Only TCIA's own answer makes a series unknown there; one no source that answered could describe failed.
  if (series.action === 'unknown' && run.unknownReason !== undefined) return { ...NOTHING, status: 'failed', error: run.unknownReason };
  if (series.action === 'unknown') return { ...NOTHING, status: 'unknown-at-tcia', error: run.dryRun ? '' : 'TCIA has no public series with this UID' };
  if (series.action === 'blocked') return { ...NOTHING, status: 'failed', error: series.reason ?? '' };
  if (series.action === 'skip') {
    const status = run.recovered?.has(series.uid) ? 'imported' : 'already-in-xnat';
    return { ...NOTHING, status, files: run.dryRun ? 0 : series.existingScan?.fileCount ?? 0 };
  }
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
      sessionUrl: linked ? sessionUrl(xnat.host, xnat.project, series.subjectId || subject, series.session) : '',
      status: outcome.status,
      imagesExpected: series.meta?.imageCount ?? 0,
      files: outcome.files,
      bytes: outcome.bytes,
      md5Verified: outcome.md5Verified,
      attempts: outcome.attempts,
      error: outcome.error,
      warning: run.warnings?.get(series.uid) ?? '',
      source: outcome.source ?? (outcome.status === 'planned' ? series.source ?? '' : ''),
      verified: outcome.verified ?? '',
      seconds: outcome.startedMs !== undefined && outcome.endedMs !== undefined ? Math.round((outcome.endedMs - outcome.startedMs) / 100) / 10 : 0,
    };
  });
}

/** The archived session's address; XNAT serves it by project, subject (label there, or accession ID) and session label. */
function sessionUrl(host: string, project: string, subject: string, session: string | undefined): string {
  return subject && session ? `${host}/data/projects/${project}/subjects/${subject}/experiments/${session}` : '';
}

/**
 * Per source: what it served this run, and its rate over the time it had a series in flight (the union of the
 * series' transfer intervals, so series moving at once are not counted twice).
 */
export function totalsBySource(outcomes: Iterable<SeriesOutcome>): Partial<Record<SourceName, SourceTotals>> {
  const by: Partial<Record<SourceName, { t: SourceTotals; spans: [number, number][] }>> = {};
  for (const o of outcomes) {
    if (o.status !== 'imported' || !o.source) continue;
    const entry = (by[o.source] ??= { t: { imported: 0, files: 0, bytes: 0, seconds: 0, mbPerSecond: 0 }, spans: [] });
    entry.t.imported += 1;
    entry.t.files += o.files;
    entry.t.bytes += o.bytes;
    if (o.startedMs !== undefined && o.endedMs !== undefined) entry.spans.push([o.startedMs, o.endedMs]);
  }
  const result: Partial<Record<SourceName, SourceTotals>> = {};
  for (const [name, { t, spans }] of Object.entries(by) as [SourceName, { t: SourceTotals; spans: [number, number][] }][]) {
    const seconds = unionMs(spans) / 1000;
    result[name] = { ...t, seconds: Math.round(seconds * 10) / 10, mbPerSecond: Number(megabytesPerSecond(t.bytes, seconds)) };
  }
  return result;
}

function unionMs(spans: [number, number][]): number {
  let total = 0;
  let end = -Infinity;
  for (const [a, b] of [...spans].sort((x, y) => x[0] - y[0])) {
    if (b <= end) continue;
    total += b - Math.max(a, end);
    end = b;
  }
  return total;
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

/**
 * The run's last line: what happened, the exit code and why. `errorShown` says whether error lines reach the
 * screen (not at --log-level fatal): when they do not, the summary carries the error itself.
 */
export function summaryLine(report: RunReport, transferSeconds: number, errorShown = true): string {
  const { totals } = report;
  // A run that stopped on its input or setup has already logged that error; one message per mistake.
  if (report.series.length === 0 && report.exitCode !== 0) return `summary: nothing imported; exit ${report.exitCode}: ${report.exitCode >= 128 || !errorShown ? report.outcome : 'stopped on the error above'}`;
  const rate = megabytesPerSecond(totals.bytes, transferSeconds);
  const sessions = new Set(report.series.filter((r) => r.status === 'imported').map((r) => r.session)).size;
  const notStarted = totals.notStarted > 0 ? `, ${totals.notStarted} not started` : '';
  const planned = report.series.filter((r) => r.status === 'planned');
  const done = report.dryRun
    ? `${planned.length} to import (${formatSize(planned.reduce((n, r) => n + r.bytes, 0))}) into ${new Set(planned.map((r) => r.session)).size} session(s), ${totals.alreadyInXnat} already in XNAT, ${totals.unknown} unknown at TCIA${totals.failed > 0 ? `, ${totals.failed} cannot be imported` : ''}`
    : `${totals.imported} imported into ${sessions} session(s), ${totals.alreadyInXnat} already in XNAT, ${totals.failed} failed${notStarted}, ${totals.unknown} unknown at TCIA; ${totals.files} files, ${formatSize(totals.bytes)} in ${totals.seconds} s (${rate} MB/s)`;
  return `summary: ${done}${bySourceText(report)}; exit ${report.exitCode}: ${report.outcome}`;
}

/** ` (IDC: 30 series, 120.0 MB, 40.1 MB/s; NBIA: …)` once IDC served something; dry run: series planned per source. */
function bySourceText(report: RunReport): string {
  if (report.dryRun) {
    const planned = report.series.filter((r) => r.status === 'planned' && r.source);
    if (!planned.some((r) => r.source === 'idc')) return '';
    const counts = (['idc', 'nbia'] as const).map((name) => [name, planned.filter((r) => r.source === name).length] as const).filter(([, n]) => n > 0);
    return counts.length > 0 ? ` (${counts.map(([name, n]) => `${name.toUpperCase()}: ${n}`).join(', ')})` : '';
  }
  const by = report.totals.bySource ?? {};
  // An NBIA-only run reads as it always did.
  if (!by.idc) return '';
  const parts = (['idc', 'nbia'] as const).filter((name) => by[name]).map((name) => {
    const t = by[name]!;
    return `${name.toUpperCase()}: ${t.imported} series, ${formatSize(t.bytes)}, ${t.mbPerSecond} MB/s`;
  });
  return parts.length > 0 ? ` (${parts.join('; ')})` : '';
}
