import { randomUUID } from 'node:crypto';
import type { Config } from './config.js';
import { ConnectionError, ManifestError, UsageError, XnatHttpError, XtdError, describeError } from './errors.js';
import { uploadManifestRecords, uploadRunRecords } from './finalize/records.js';
import { writeReportFiles, type RunReport, type SeriesReportRow } from './finalize/report.js';
import type { Logger } from './log.js';
import { readManifest, type Manifest } from './manifest/read-manifest.js';
import { buildPlan, type Plan } from './plan/build-plan.js';
import { formatMB, formatPlanTable } from './plan/plan-table.js';
import { Progress } from './progress.js';
import { DEFAULT_RETRY, type RetryPolicy } from './retry.js';
import { NbiaClient } from './tcia/nbia-client.js';
import { resolveTciaRoot } from './tcia/server-url.js';
import { transferStudies } from './transfer/transfer-studies.js';
import { IMPORT_SOURCE } from './transfer/transfer-series.js';
import { recoverLeftovers } from './plan/recover-leftovers.js';
import { commitSession } from './finalize/commit-study.js';
import { VERSION } from './version.js';
import { forEachLimit } from './concurrency.js';
import { XnatClient } from './xnat/xnat-client.js';
import type { XnatHoldings } from './plan/build-plan.js';
import type { ArchivedScan } from './xnat/xnat-client.js';

export interface RunContext {
  logger: Logger;
  signal: AbortSignal;
  /** Path of the JSON-lines log, attached to the project at the end. */
  logPath?: string;
  progress: Progress;
  /** Extra knobs for tests and the benchmark. */
  tuning?: Partial<Tuning>;
  /** Where plain results (the dry-run table) are printed. */
  print: (text: string) => void;
}

export interface Tuning {
  stallTimeoutMs: number;
  settleTimeoutMs: number;
  pollIntervalMs: number;
  baseDelayMs: number;
  progressIntervalSeconds?: number;
}

const DEFAULT_TUNING: Tuning = { stallTimeoutMs: 120_000, settleTimeoutMs: 30 * 60_000, pollIntervalMs: 5_000, baseDelayMs: DEFAULT_RETRY.baseDelayMs };

export interface RunResult {
  exitCode: number;
  report: RunReport;
}

/** The whole job: manifest → plan → transfer → commit and verify → records. Never throws; the exit code says how it went. */
export async function run(config: Readonly<Config>, context: RunContext): Promise<RunResult> {
  const { logger } = context;
  const tuning = { ...DEFAULT_TUNING, ...context.tuning };
  const startedAt = new Date();
  const report: RunReport = {
    tool: 'xnat-tcia-download',
    version: VERSION,
    runId: `${startedAt.toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}-${randomUUID().slice(0, 8)}`,
    startedAt: startedAt.toISOString(),
    finishedAt: '',
    manifest: config.manifestPath,
    project: config.project,
    xnatHost: config.xnat.host,
    tciaRoot: '',
    dryRun: config.dryRun,
    exitCode: 2,
    outcome: '',
    totals: { series: 0, imported: 0, alreadyInXnat: 0, failed: 0, unknown: 0, files: 0, bytes: 0, seconds: 0, mbPerSecond: 0 },
    series: [],
  };
  const xnat = new XnatClient({ ...config.xnat, logger });
  let manifest: Manifest | undefined;
  let projectExists: boolean | undefined;
  let transferSeconds = 0;

  try {
    manifest = await readManifest(config.manifestPath);
    report.manifest = manifest.fileName;
    for (const warning of manifest.warnings) logger.warn(`manifest: ${warning}`);
    const tciaRoot = resolveTciaRoot(config.tciaUrl, manifest.header.downloadServerUrl);
    report.tciaRoot = tciaRoot;
    const attempts = config.retries ?? retriesFromManifest(manifest);
    const retry: RetryPolicy = { ...DEFAULT_RETRY, attempts, baseDelayMs: tuning.baseDelayMs };
    logger.info(`manifest ${manifest.fileName}: ${manifest.seriesUids.length} series (${manifest.format}); TCIA ${tciaRoot}; XNAT ${config.xnat.host} project ${config.project}${config.dryRun ? ' (dry run)' : ''}`);

    await xnat.authenticate();
    projectExists = await xnat.projectExists(config.project);

    const nbia = new NbiaClient({ root: tciaRoot, logger, stallTimeoutMs: tuning.stallTimeoutMs, attempts, insecure: config.xnat.insecure });
    const metadata = await nbia.seriesMetadata(manifest.seriesUids, (done, total) => context.progress.plan(done, total));
    // Settle before planning: an archive an interrupted run left running in XNAT must finish first, or its study
    // would be sent again and the two archives would race (issue 13).
    let stillBusy = new Map<string, string>();
    if (projectExists && !config.dryRun) {
      const settle = { xnat, logger, signal: context.signal, source: IMPORT_SOURCE, settleTimeoutMs: tuning.settleTimeoutMs, pollIntervalMs: tuning.pollIntervalMs };
      stillBusy = (await recoverLeftovers(xnat, config.project, IMPORT_SOURCE, metadata, (uri, archivePath) => commitSession(uri, archivePath, settle), logger,
        { signal: context.signal, timeoutMs: tuning.settleTimeoutMs, pollIntervalMs: tuning.pollIntervalMs })).busy;
    }
    const holdings: XnatHoldings = projectExists ? await readHoldings(xnat, config.project, new Set([...metadata.values()].map((m) => m.studyUid))) : { sessions: [], scans: new Map() };
    const plan = buildPlan(manifest.seriesUids, metadata, holdings);
    // A study XNAT is still archiving is left alone this run; its series are reported with the reason.
    plan.studies = plan.studies.filter((study) => !stillBusy.has(study.studyUid));
    const t = plan.totals;
    logger.info(`plan: ${t.toMove} series to import (${t.images} images, ${formatMB(t.bytes)} MB) in ${plan.studies.length} session(s); ${t.skip} already in XNAT; ${t.unknown} unknown at TCIA`);
    for (const s of plan.series.filter((x) => x.action === 'unknown')) logger.error({ series: s.uid }, `series ${s.uid}: TCIA has no public series with this UID`);

    if (config.dryRun) {
      context.print(formatPlanTable(plan));
      report.series = plan.series.map((s) => row(s, s.action === 'unknown' ? 'unknown-at-tcia' : s.action === 'skip' ? 'already-in-xnat' : 'planned'));
      report.exitCode = t.unknown > 0 ? 1 : 0;
      report.outcome = 'dry run: nothing was changed';
      return await finish();
    }

    if (!projectExists && t.toMove > 0) {
      logger.info(`project ${config.project} does not exist; creating it`);
      await xnat.createProject(config.project);
      projectExists = true;
    }

    context.progress.startTransfer(t.toMove, t.bytes);
    const started = Date.now();
    const results = await transferStudies(plan, {
      nbia, xnat, logger, retry, signal: context.signal, project: config.project, progress: context.progress,
      settleTimeoutMs: tuning.settleTimeoutMs, pollIntervalMs: tuning.pollIntervalMs, concurrency: config.concurrency,
    });
    transferSeconds = (Date.now() - started) / 1000;
    context.progress.stop();

    report.series = plan.series.map((s) => {
      if (s.action === 'unknown') return row(s, 'unknown-at-tcia', { error: 'TCIA has no public series with this UID' });
      if (s.action === 'skip') return row(s, 'already-in-xnat', { files: s.existingScan?.fileCount ?? 0 });
      const r = results.get(s.uid);
      if (!r) return row(s, 'not-started', { error: stillBusy.get(s.meta?.studyUid ?? '') ?? (context.signal.aborted ? 'run stopped before this series started' : 'not started') });
      const { files, bytes, md5Verified, attempts, error } = r;
      return row({ ...s, subject: r.subject ?? s.subject }, r.status, { files, bytes, md5Verified, attempts, error });
    });
    const failed = report.series.filter((r) => r.status !== 'imported' && r.status !== 'already-in-xnat').length;
    report.exitCode = context.signal.aborted ? 130 : failed > 0 ? 1 : 0;
    report.outcome = context.signal.aborted ? 'stopped by signal' : failed > 0 ? `${failed} series not imported` : 'every series is in XNAT';
    return await finish();
  } catch (error) {
    report.exitCode = context.signal.aborted ? 130 : isUnusableInput(error) ? 2 : 1;
    report.outcome = describeError(error);
    logger.error({ code: (error as XtdError).code }, describeError(error));
    if (!(error instanceof XtdError)) logger.debug({ stack: (error as Error).stack }, 'unexpected error');
    return await finish();
  }

  async function finish(): Promise<RunResult> {
    context.progress.stop();
    const totals = report.totals;
    totals.series = report.series.length;
    totals.imported = report.series.filter((r) => r.status === 'imported').length;
    totals.alreadyInXnat = report.series.filter((r) => r.status === 'already-in-xnat').length;
    totals.failed = report.series.filter((r) => r.status === 'failed' || r.status === 'not-started').length;
    totals.unknown = report.series.filter((r) => r.status === 'unknown-at-tcia').length;
    totals.files = report.series.reduce((n, r) => n + (r.status === 'imported' ? r.files : 0), 0);
    totals.bytes = report.series.reduce((n, r) => n + (r.status === 'imported' ? r.bytes : 0), 0);
    totals.seconds = Math.round(transferSeconds * 10) / 10;
    totals.mbPerSecond = transferSeconds > 0 ? Math.round((totals.bytes / 1e6 / transferSeconds) * 10) / 10 : 0;
    report.finishedAt = new Date().toISOString();

    const sessions = new Set(report.series.filter((r) => r.status === 'imported').map((r) => r.session)).size;
    const summary = `summary: ${totals.imported} imported into ${sessions} session(s), ${totals.alreadyInXnat} already in XNAT, ${totals.failed} failed, ${totals.unknown} unknown at TCIA; ${totals.files} files, ${formatMB(totals.bytes)} MB in ${totals.seconds} s (${totals.mbPerSecond} MB/s); exit ${report.exitCode}: ${report.outcome}`;
    logger[report.exitCode === 0 ? 'info' : 'error'](summary);
    // --quiet hides info lines, but the summary is the one line a quiet run still owes its user.
    if (config.quiet && report.exitCode === 0) context.print(summary);
    for (const r of report.series.filter((x) => x.error)) logger.error({ series: r.seriesUid }, `failed: ${r.seriesUid} (${r.session || 'no session'}): ${r.error}`);

    const dir = config.outputDir;
    try {
      const files = await writeReportFiles(dir, report);
      logger.info(`report written to ${files.json} and ${files.csv}`);
    } catch (error) {
      logger.error(`could not write the report to ${dir}: ${(error as Error).message}`);
      if (report.exitCode === 0) report.exitCode = 1;
    }

    // Records go to XNAT whatever the outcome, but only into a project that exists: a failed run never creates
    // one. A dry run writes nothing to XNAT; its table is in the log and the local report.
    if (projectExists === undefined && !config.dryRun) {
      // The run failed before looking at XNAT (a bad manifest): the report still belongs with the project.
      projectExists = await xnat.authenticate().then(() => xnat.projectExists(config.project)).catch(() => false);
    }
    if (projectExists && !config.dryRun) {
      try {
        if (manifest && report.series.length > 0) await uploadManifestRecords(xnat, config.project, manifest, report);
        const where = await uploadRunRecords(xnat, config.project, report, context.logPath, logger);
        logger.info(`report and log attached to the project: ${config.xnat.host}${where}`);
      } catch (error) {
        logger.error(`could not attach the report to project ${config.project}: ${describeError(error)}`);
        if (report.exitCode === 0) report.exitCode = 1;
      }
    }
    return { exitCode: report.exitCode, report };
  }
}

/** Exit 2: the input or the setup is wrong (manifest, options, credentials, rights, an XNAT that cannot be reached). */
function isUnusableInput(error: unknown): boolean {
  if (error instanceof UsageError || error instanceof ManifestError) return true;
  if (error instanceof ConnectionError) return error.peer === 'XNAT';
  return error instanceof XnatHttpError && [401, 403, 417].includes(error.status);
}

/** The manifest's noOfrRetry (NBIA's own retriever uses it as its attempt count), 4 by default. */
function retriesFromManifest(manifest: Manifest): number {
  const n = Number(manifest.header.noOfrRetry);
  return Number.isInteger(n) && n >= 1 && n <= 20 ? n : DEFAULT_RETRY.attempts;
}

async function readHoldings(xnat: XnatClient, project: string, studyUids: Set<string>): Promise<XnatHoldings> {
  const sessions = await xnat.listSessions(project);
  const scans = new Map<string, ArchivedScan[]>();
  const relevant = sessions.filter((s) => studyUids.has(s.studyUid));
  await forEachLimit(relevant, 4, async (session) => {
    scans.set(session.id, (await xnat.sessionScans(session.id))?.scans ?? []);
  });
  return { sessions, scans };
}

function row(s: Plan['series'][number], status: SeriesReportRow['status'], extra: Partial<SeriesReportRow> = {}): SeriesReportRow {
  return {
    seriesUid: s.uid,
    studyUid: s.meta?.studyUid ?? '',
    patientId: s.meta?.patientId ?? '',
    subject: s.subject ?? '',
    session: s.session ?? '',
    modality: s.meta?.modality ?? '',
    status,
    imagesExpected: s.meta?.imageCount ?? 0,
    files: 0,
    bytes: 0,
    md5Verified: 0,
    attempts: 0,
    error: '',
    ...extra,
  };
}
