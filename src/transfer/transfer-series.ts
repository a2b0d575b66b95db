import { AbortedError, ConnectionError, SeriesContentError, XnatHttpError, XtdError, describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { isRetryable, pause, retryAfterOf, retryDelay, type RetryPolicy } from '../retry.js';
import type { NbiaClient } from '../tcia/nbia-client.js';
import type { SeriesMetadata } from '../tcia/series-metadata.js';
import type { XnatClient } from '../xnat/xnat-client.js';
import { NbiaSource } from '../sources/nbia/zip-series.js';
import type { SeriesSource, SourceSeries } from '../sources/types.js';
import { relaySource, type RelayStats } from './relay-series.js';

export const IMPORT_SOURCE = 'xnat-tcia-download';

export interface SeriesJob {
  meta: SeriesMetadata;
  project: string;
  /** Decided by the plan (src/plan/build-plan.ts). */
  subject: string;
  session: string;
}

export interface SeriesTransfer extends RelayStats {
  prearchiveUri: string;
  attempts: number;
  /** Which source served the attempt that succeeded, and how its files were verified (the report's columns). */
  source: SourceSeries['source'];
  verified: SourceSeries['verified'];
  /** When the successful attempt started and ended (ms since the epoch), for MB/s per source. */
  startedMs: number;
  endedMs: number;
}

export interface TransferDeps {
  nbia: NbiaClient;
  /** Where the series' files come from; NBIA (through `nbia`) when not given. */
  source?: SeriesSource;
  xnat: XnatClient;
  logger: Logger;
  retry: RetryPolicy;
  signal: AbortSignal;
  /** DICOM bytes handed to XNAT's upload. */
  onBytes?: (bytes: number) => void;
  /** A new attempt starts: what the last one counted is sent again. */
  onAttempt?: () => void;
}

/** Thrown when a series could not be moved; `touchedXnat` says whether some of its files may sit in the prearchive. */
export class SeriesFailure extends Error {
  constructor(override readonly cause: unknown, readonly attempts: number, readonly touchedXnat: boolean) {
    super(describeError(cause));
  }
}

/**
 * Moves one series from TCIA into the XNAT prearchive, retrying the whole series from a fresh request: once bytes
 * have gone downstream a stream is never resumed. A retry re-sends every file; XNAT replaces an instance with the
 * same SOPInstanceUID in place (docs/reference/xnat-rest.md#repeats), so a retry leaves no duplicates.
 */
export async function transferSeries(job: SeriesJob, deps: TransferDeps): Promise<SeriesTransfer> {
  const log = deps.logger.child({ series: job.meta.seriesUid });
  let touchedXnat = false;
  const source: SeriesSource = deps.source ?? new NbiaSource(deps.nbia);
  /** Attempts that went to a source the series then fell back from: they do not count against --attempts. */
  let fellBack = 0;
  for (let attempt = 1; ; attempt += 1) {
    if (deps.signal.aborted) throw new SeriesFailure(new AbortedError(), attempt - 1, touchedXnat);
    try {
      deps.onAttempt?.();
      const startedMs = Date.now();
      const series = await source.open(job.meta.seriesUid, deps.signal);
      if (!series) throw new SeriesContentError(notHeld(source.name, job.meta.seriesUid), job.meta.seriesUid);
      const { stats, uri } = await relaySource(
        series,
        { seriesUid: job.meta.seriesUid, studyUid: job.meta.studyUid, imageCount: job.meta.imageCount },
        (zip, _first, signal) => {
          touchedXnat = true;
          return deps.xnat.importZip({ project: job.project, subject: job.subject, session: job.session, source: IMPORT_SOURCE }, zip, signal);
        },
        deps.signal,
        {
          onBytes: deps.onBytes,
          onUnreadable: (file) => log.warn({ file }, `${file}: its DICOM header could not be read, but it matches ${checkedAgainst(series)}; XNAT decides`),
        },
      );
      return { ...stats, prearchiveUri: uri, attempts: attempt, source: series.source, verified: series.verified, startedMs, endedMs: Date.now() };
    } catch (error) {
      if (error instanceof AbortedError || deps.signal.aborted) throw new SeriesFailure(new AbortedError(), attempt, touchedXnat);
      if (!isXnatSide(error) && source.fallBack?.(job.meta.seriesUid)) {
        fellBack += 1;
        log.warn({ attempt }, `series ${job.meta.seriesUid} (${job.session}): IDC failed after its retries (${describeError(error)}); fetching it from NBIA`);
        continue;
      }
      const delay = isRetryable(error) ? retryDelay(attempt - fellBack, deps.retry, retryAfterOf(error)) : 0;
      if (delay === 0) throw new SeriesFailure(error, attempt, touchedXnat);
      log.warn({ attempt, of: deps.retry.attempts + fellBack, code: (error as XtdError).code, delayMs: delay }, `series ${job.meta.seriesUid} (${job.session}) attempt ${attempt} of ${deps.retry.attempts + fellBack} failed, retrying: ${describeError(error)}`);
      await pause(delay, deps.signal).catch(() => undefined);
    }
  }
}

function notHeld(source: string, uid: string): string {
  if (source === 'idc') return `IDC does not hold series ${uid} (not in its index, or its listing is empty); --source auto fetches such series from NBIA`;
  return `${source} does not hold series ${uid}`;
}

/** XNAT's failures are retried with the same source: switching sources would not help. */
function isXnatSide(error: unknown): boolean {
  return error instanceof XnatHttpError || (error instanceof ConnectionError && error.peer === 'XNAT');
}

/** What a file that passed was matched against, in the words of a log line. */
export function checkedAgainst(series: Pick<SourceSeries, 'source'>): string {
  return series.source === 'idc' ? "IDC's MD5 (its ETag), or TCIA's where the ETag is not one" : "TCIA's MD5";
}
