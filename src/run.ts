import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { consoleLogLevel, type Config } from './config.js';
import { AbortedError, ConnectionError, ManifestError, UsageError, XnatAccountError, XnatHttpError, XtdError, describeError, reportBug } from './errors.js';
import { createRunFolder, pointLatest } from './finalize/local-records.js';
import { uploadManifestRecords, uploadRunRecords } from './finalize/records.js';
import { licensesAndCitations, writeReportFiles, type RunReport, type SeriesReportRow } from './finalize/report.js';
import { countTotals, reportRows, summaryLine, totalsBySource } from './finalize/summarize.js';
import type { SeriesOutcome } from './finalize/report.js';
import { planMetadata } from './plan/idc-metadata.js';
import { openSources } from './sources/open-sources.js';
import { IdcIndexError } from './sources/idc/index-location.js';
import { isShown, type Logger } from './log.js';
import { readManifest, type Manifest } from './manifest/read-manifest.js';
import { buildPlan, type Plan, type PlannedSeries } from './plan/build-plan.js';
import { formatPlanSummary, formatPlanTable, planCsv } from './plan/plan-table.js';
import { formatSize } from './units.js';
import type { Progress } from './progress.js';
import { describeRunRoutes } from './proxy.js';
import { DEFAULT_RETRY, type RetryPolicy } from './retry.js';
import { NbiaClient } from './tcia/nbia-client.js';
import { resolveTciaRoot } from './tcia/server-url.js';
import { IMPORT_SOURCE } from './transfer/transfer-series.js';
import { recoverLeftovers } from './plan/recover-leftovers.js';
import { readHoldings } from './plan/holdings.js';
import { withHeaderNames } from './plan/header-metadata.js';
import { subjectCaseClashes } from './plan/labels.js';
import { noteAnnotations } from './plan/annotations.js';
import { observeStudies } from './study/events.js';
import { logObserver, progressObserver } from './study/observers.js';
import { runStudyJobs } from './study/study-job.js';
import { isProjectRefusal } from './xnat/projects.js';
import { VERSION } from './version.js';
import { XnatClient } from './xnat/xnat-client.js';
import type { XnatHoldings } from './plan/build-plan.js';
import { crc32Implementation } from './transfer/zip/crc32.js';
import { confirmImportRights, RightsError } from './check/standing.js';

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
  /** This run's id and its folder under --output-dir (made here when not given). */
  runId?: string;
  runDir?: string;
}

/** The abort reason the CLI gives when a signal stops the run, so the report's exit code is the process's. */
export class StopRequest extends AbortedError {
  constructor(readonly signalName: NodeJS.Signals) {
    super(`stopped by ${signalName}`);
  }
}

/** 128 + the signal number, as a shell reports a process a signal ended: 143 for SIGTERM, 130 for SIGINT. */
export function stopExitCode(signal: AbortSignal): number {
  return signal.reason instanceof StopRequest && signal.reason.signalName === 'SIGTERM' ? 143 : 130;
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

/** The whole job: manifest → plan → study jobs (send, commit, verify) → summary → records. Never throws; the exit code says how it went. */
export async function run(config: Readonly<Config>, context: RunContext): Promise<RunResult> {
  const { logger } = context;
  const tuning = { ...DEFAULT_TUNING, ...context.tuning };
  const startedAt = new Date();
  const folder = context.runId && context.runDir ? { runId: context.runId, dir: context.runDir } : await createRunFolder(config.outputDir);
  const report: RunReport = {
    tool: 'xnat-tcia-download',
    version: VERSION,
    runId: folder.runId,
    startedAt: startedAt.toISOString(),
    finishedAt: '',
    manifest: config.manifestPath,
    project: config.project,
    xnatHost: config.xnat.host,
    tciaRoot: '',
    dryRun: config.dryRun,
    exitCode: 2,
    outcome: '',
    totals: { series: 0, imported: 0, alreadyInXnat: 0, failed: 0, notStarted: 0, unknown: 0, files: 0, bytes: 0, seconds: 0, mbPerSecond: 0 },
    licenses: [],
    citations: [],
    series: [],
  };
  const xnat = new XnatClient({ ...config.xnat, logger });
  let manifest: Manifest | undefined;
  let projectExists: boolean | undefined;
  let transferSeconds = 0;
  /** Whether this run sent anything to XNAT; a run that changed nothing attaches nothing. */
  let changedXnat = false;
  /** Series an interrupted run sent whole, which this run committed from the prearchive. */
  let recovered: ReadonlySet<string> = new Set();
  let plan: Plan | undefined;
  let sent: ReadonlyMap<string, SeriesOutcome> = new Map();
  const host = config.xnat.host;
  const where = { host, project: config.project };

  try {
    manifest = await readManifest(config.manifestPath);
    report.manifest = manifest.fileName;
    for (const warning of manifest.warnings) logger.warn(`manifest: ${warning}`);
    const tciaRoot = resolveTciaRoot(config.tciaUrl, manifest.header.downloadServerUrl);
    report.tciaRoot = tciaRoot;
    const attempts = config.retries ?? retriesFromManifest(manifest);
    const retry: RetryPolicy = { ...DEFAULT_RETRY, attempts, baseDelayMs: tuning.baseDelayMs };
    logger.info(`manifest ${manifest.fileName}: ${manifest.seriesUids.length} series (${manifest.format}); TCIA ${tciaRoot}; XNAT ${config.xnat.host} project ${config.project}${config.dryRun ? ' (dry run)' : ''}`);
    const routes = describeRunRoutes(host, tciaRoot, config.sources);
    if (routes) logger.info(routes);

    await xnat.authenticate();
    const projectId = await xnat.projectId(config.project);
    projectExists = projectId !== undefined;
    if (projectId !== undefined && projectId !== config.project) {
      // XNAT keys the prearchive and project groups by ID, not alias (docs/reference/xnat-rest.md#project-aliases).
      logger.info(`project ${config.project} is an alias of ${projectId}; using its ID`);
      config = { ...config, project: projectId };
      report.project = where.project = projectId;
    }
    if (projectExists) await confirmImportRights(xnat, config.project, config.xnat.user, { logger, dryRun: config.dryRun });

    const nbia = new NbiaClient({ root: tciaRoot, logger, stallTimeoutMs: tuning.stallTimeoutMs, attempts, insecure: config.xnat.insecure });
    const sources = await openSources(config.sources, manifest.seriesUids, { nbia, logger, retry, stallTimeoutMs: tuning.stallTimeoutMs, insecure: config.xnat.insecure, signal: context.signal });
    const { lookup } = sources;
    report.sources = { mode: config.sources.mode, ...(lookup && { idcIndex: { location: config.sources.idcIndex, etag: lookup.etag, rows: lookup.rows, seriesFound: lookup.series.size } }) };
    const { metadata, unknownReason } = await planMetadata(manifest.seriesUids, {
      mode: config.sources.mode, nbia, idc: lookup?.series ?? new Map(), s3: sources.s3, connections: config.sources.idcConnections,
      logger, signal: context.signal, onProgress: (done, total) => context.progress.plan(done, total),
    });
    // Where NBIA gave an ImageCount the relay checks the files against it; elsewhere only the index's size can.
    sources.listingCheck?.countsKnown([...metadata.values()].filter((m) => m.imageCount > 0).map((m) => m.seriesUid));
    // Settle before planning: an archive an interrupted run left running in XNAT must finish first, or its study
    // would be sent again and the two archives would race (issue 13).
    let stillBusy = new Map<string, string>();
    if (projectExists && !config.dryRun) {
      const settled = await recoverLeftovers(xnat, config.project, IMPORT_SOURCE, metadata, logger,
        { signal: context.signal, timeoutMs: tuning.settleTimeoutMs, pollIntervalMs: tuning.pollIntervalMs });
      stillBusy = settled.busy;
      recovered = settled.committedSeries;
      // Committing or deleting what an interrupted run left is a change to XNAT: this run's records say what it did.
      changedXnat = settled.committed.length + settled.deleted.length > 0;
    }
    const holdings: XnatHoldings = projectExists ? await readHoldings(xnat, config.project, new Set([...metadata.values()].map((m) => m.studyUid))) : { sessions: [], labels: [], scans: new Map() };
    const named = await withHeaderNames(nbia, metadata, { logger, signal: context.signal, skipStudies: new Set(holdings.sessions.map((row) => row.studyUid)) });
    plan = buildPlan(manifest.seriesUids, named, holdings);
    for (const clash of subjectCaseClashes(plan.series, holdings.sessions)) logger.warn(clash);
    for (const s of plan.series) if (s.meta) s.source = sources.router.planned(s.uid);
    // A study XNAT is still archiving is left alone this run; its series are reported with the reason.
    plan.studies = plan.studies.filter((study) => !stillBusy.has(study.studyUid));
    const t = plan.totals;
    logger.info(`plan: ${t.toMove} series to import (${t.images} images, ${formatSize(t.bytes)}) in ${plan.studies.length} session(s); ${t.skip} already in XNAT; ${t.blocked} in another project's session; ${t.unknown} ${unknownReason ? 'not described by any source' : 'unknown at TCIA'}`);
    for (const s of plan.series.filter((x) => x.action === 'unknown')) logger.error({ series: s.uid }, `series ${s.uid}: ${unknownReason ?? 'TCIA has no public series with this UID'}`);
    noteAnnotations(plan, report, logger);

    if (config.dryRun) {
      const planPath = join(folder.dir, 'plan.csv');
      await writeFile(planPath, await planCsv(plan));
      // -q keeps the screen for the summary line; the plan is in plan.csv either way.
      if (!config.quiet) context.print(`${config.planTable ? formatPlanTable(plan) : formatPlanSummary(plan)}\nfull plan, one row per series: ${planPath}`);
      report.series = reportRows(plan, { dryRun: true, sent: new Map(), notStarted: () => '', unknownReason }, where);
      // A stop still ends with its signal's code, so a script can tell a plan cut short from a whole one.
      report.exitCode = context.signal.aborted ? stopExitCode(context.signal) : t.unknown + t.blocked > 0 ? 1 : 0;
      report.outcome = context.signal.aborted ? `dry run stopped by ${stopName(context.signal)}: nothing was changed` : 'dry run: nothing was changed';
      return await finish();
    }

    // A stop during planning leaves XNAT as it was: no project is created and nothing is attached.
    if (!projectExists && t.toMove > 0 && !context.signal.aborted) {
      logger.info(`project ${config.project} does not exist; creating it`);
      await xnat.createProject(config.project);
      projectExists = true;
    }

    // Which CRC-32 checks every file: a missing binary slows a run without changing its outcome, so say it.
    if (t.toMove > 0) logger.debug(`CRC-32 by ${crc32Implementation()}`);
    context.progress.startTransfer(t.toMove, t.bytes);
    changedXnat ||= t.toMove > 0 && !context.signal.aborted;
    sent = await runStudyJobs(plan.studies, config.concurrency, {
      nbia, source: sources.router, xnat, logger, retry, signal: context.signal, project: config.project,
      settleTimeoutMs: tuning.settleTimeoutMs, pollIntervalMs: tuning.pollIntervalMs,
      events: observeStudies(progressObserver(context.progress), logObserver(logger)),
    });
    context.progress.stop();
    transferSeconds = context.progress.transferSeconds();

    const notStarted = (s: PlannedSeries): string =>
      stillBusy.get(s.meta?.studyUid ?? '') ?? (context.signal.aborted ? 'run stopped before this series started' : 'not started');
    report.series = reportRows(plan, { dryRun: false, sent, notStarted, unknownReason, recovered, warnings: sources.listingCheck?.warnings }, where);
    const failed = report.series.filter((r) => r.status !== 'imported' && r.status !== 'already-in-xnat').length;
    report.exitCode = context.signal.aborted ? stopExitCode(context.signal) : failed > 0 ? 1 : 0;
    report.outcome = context.signal.aborted ? `stopped by ${stopName(context.signal)}` : failed > 0 ? `${failed} series not imported` : 'every series is in XNAT';
    return await finish();
  } catch (error) {
    // An error the tool did not raise on purpose is a bug: its stack goes to the log at error level, exit 1.
    const bug = context.signal.aborted ? undefined : reportBug(error, logger);
    // The stop itself, surfacing as the aborted step's error, is no failure to report: the summary says it.
    const stopped = context.signal.aborted && ((error as { name?: string }).name === 'AbortError' || error instanceof AbortedError);
    report.exitCode = context.signal.aborted ? stopExitCode(context.signal) : bug ?? (isUnusableInput(error) ? 2 : 1);
    report.outcome = stopped ? `stopped by ${stopName(context.signal)}` : describeError(error);
    if (bug === undefined && !stopped) logger.error({ code: (error as XtdError).code }, describeError(error));
    return await finish();
  }

  async function finish(): Promise<RunResult> {
    context.progress.stop();
    const totals = (report.totals = { ...countTotals(report.series, transferSeconds), bySource: totalsBySource(sent.values()) });
    report.finishedAt = new Date().toISOString();
    const carried = new Set<SeriesReportRow['status']>(config.dryRun ? ['planned', 'already-in-xnat'] : ['imported', 'already-in-xnat']);
    const inXnat = new Set(report.series.filter((r) => carried.has(r.status)).map((r) => r.seriesUid));
    Object.assign(report, licensesAndCitations((plan?.series ?? []).filter((s) => s.meta && inXnat.has(s.uid)).map((s) => s.meta!)));

    // Failures first, one line each; series a stop left untouched are one line, however many; the summary last.
    for (const r of report.series.filter((x) => x.error && x.status !== 'not-started')) logger.error({ series: r.seriesUid }, `failed: ${r.seriesUid} (${r.session || 'no session'}): ${r.error}`);
    for (const r of report.series.filter((x) => x.warning)) logger.warn({ series: r.seriesUid }, `warning: ${r.seriesUid} (${r.session || 'no session'}): ${r.warning}`);
    if (totals.notStarted > 0) logger.warn(`${totals.notStarted} series not started; run the same command again to continue`);
    await writeLocalRecords();
    const written = report.exitCode;
    if (changedXnat) await attachRecords();
    // An attachment that failed changed the exit code: the local report says so too (report.json = the process).
    if (report.exitCode !== written) await writeReportFiles(folder.dir, report).catch(() => undefined);

    const summary = summaryLine(report, transferSeconds, isShown('error', consoleLogLevel(config)));
    const level = report.exitCode === 0 ? 'info' : 'error';
    logger[level](summary);
    // --quiet or --log-level warn and above hide it, but the summary is the one line every run owes its user.
    if (!isShown(level, consoleLogLevel(config))) context.print(summary);
    return { exitCode: report.exitCode, report };
  }

  /** The run's own folder always gets its report; `latest` moves to it unless the run stopped on unusable input. */
  async function writeLocalRecords(): Promise<void> {
    try {
      const files = await writeReportFiles(folder.dir, report);
      logger.info(`report written to ${files.csv} and ${files.json}`);
      if (report.exitCode !== 2) await pointLatest(config.outputDir, folder.runId);
    } catch (error) {
      keptBadly(`could not write the report to ${folder.dir}: ${(error as Error).message}`);
    }
  }

  /** A record that could not be kept: said plainly, and a run that was otherwise fine ends with exit 1. */
  function keptBadly(problem: string): void {
    logger.error(problem);
    if (report.exitCode !== 0) return;
    report.exitCode = 1;
    report.outcome = `${report.outcome}, but ${problem}`;
  }

  /** Into the project, for a run that sent something: StdOut.log already says why a run that changed nothing stopped. */
  async function attachRecords(): Promise<void> {
    const failed = (what: string, error: unknown): void => keptBadly(`could not attach ${what} to project ${config.project}: ${describeError(error)}`);
    if (manifest && report.series.length > 0) await uploadManifestRecords(xnat, config.project, manifest, report).catch((error: unknown) => failed('the manifest and its sessions list', error));
    try {
      const where = await uploadRunRecords(xnat, config.project, report, context.logPath, logger, failed);
      logger.info(`report attached to the project: ${host}${where.report} (every run's records: ${host}${where.listing})`);
    } catch (error) {
      failed('the report', error);
    }
  }
}

function stopName(signal: AbortSignal): string {
  return signal.reason instanceof StopRequest ? signal.reason.signalName : 'signal';
}

/** Exit 2: the input or the setup is wrong (manifest, options, credentials, rights, an XNAT that cannot be reached). */
function isUnusableInput(error: unknown): boolean {
  if (error instanceof UsageError || error instanceof ManifestError || error instanceof IdcIndexError || error instanceof RightsError || error instanceof XnatAccountError) return true;
  if (error instanceof ConnectionError) return error.peer === 'XNAT';
  return (error instanceof XnatHttpError && [401, 403, 417].includes(error.status)) || isProjectRefusal(error);
}

/** The manifest's noOfrRetry (NBIA's own retriever uses it as its attempt count), 4 by default. */
function retriesFromManifest(manifest: Manifest): number {
  const n = Number(manifest.header.noOfrRetry);
  return Number.isInteger(n) && n >= 1 && n <= 20 ? n : DEFAULT_RETRY.attempts;
}
