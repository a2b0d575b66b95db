import { Worker } from 'node:worker_threads';
import { AbortedError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { IdcHttpError } from './errors.js';
import type { IndexFileOptions } from './index-file.js';
import { IdcIndexError } from './index-location.js';
import { lookupIdcSeries, type IdcIndexLookup } from './index-reader.js';

/** What the worker is given (workerData) and what it answers (one message). */
export interface LookupRequest {
  source: string;
  uids: string[];
  options: Omit<IndexFileOptions, 'signal'>;
}
export type LookupAnswer = { ok: true; lookup: IdcIndexLookup } | { ok: false; error: SentError };

/** An error as it crosses to the main thread: a thread boundary keeps neither the class nor our fields. */
export interface SentError {
  name: string;
  message: string;
  stack?: string;
  code?: unknown;
  hint?: string;
  status?: number;
  s3Code?: string;
  retryable?: boolean;
  retryAfterMs?: number;
}

export interface WorkerLookupOptions extends IndexFileOptions {
  logger?: Logger;
  /** The worker's old-generation limit; by default {@link workerHeapMb} of the wanted count. */
  heapMb?: number;
  /** The worker's script; by default the bundle's, beside this chunk in dist/. */
  workerUrl?: URL;
}

/**
 * The worker's old generation: room for one row group's decoded columns (about 20 MB of byte views) and the found
 * locations (under 1 KB each). Measured on 19,148 wanted UIDs of a million-row index: live at most 31 MB.
 */
export function workerHeapMb(wanted: number): number {
  return 40 + Math.ceil(wanted / 1000);
}

/**
 * lookupIdcSeries in a worker thread whose heap is capped. Reading the index decodes every row of each row group
 * into a byte view, a few hundred MB of garbage in all; with the CLI's small young generation it is promoted, and the
 * main heap grew past 300 MB before V8 collected it (docs/benchmarks.md, "Planning a large manifest"). A capped heap
 * collects as it goes, and is given back when the worker ends. A worker that still runs out falls back to the
 * lookup in this thread: the run costs memory, not its plan.
 */
export async function lookupIdcSeriesInWorker(source: string, uids: string[], options: WorkerLookupOptions = {}): Promise<IdcIndexLookup> {
  const { logger, heapMb = workerHeapMb(new Set(uids).size), workerUrl = new URL('./idc-index-worker.js', import.meta.url), signal, ...fileOptions } = options;
  const request: LookupRequest = { source, uids, options: fileOptions };
  try {
    return await inWorker(workerUrl, request, heapMb, signal);
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ERR_WORKER_OUT_OF_MEMORY') throw error;
    logger?.warn(`reading the IDC index needed more than ${heapMb} MB of heap in its worker; reading it again in the main thread`);
    return lookupIdcSeries(source, uids, { ...fileOptions, signal });
  }
}

function inWorker(url: URL, request: LookupRequest, heapMb: number, signal: AbortSignal | undefined): Promise<IdcIndexLookup> {
  if (signal?.aborted) return Promise.reject(new AbortedError());
  return new Promise((resolve, reject) => {
    const worker = new Worker(url, { workerData: request, resourceLimits: { maxOldGenerationSizeMb: heapMb }, stdout: false, stderr: false });
    let settled = false;
    const settle = (done: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      done();
      void worker.terminate();
    };
    const onAbort = () => settle(() => reject(new AbortedError()));
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.once('message', (answer: LookupAnswer) => settle(() => (answer.ok ? resolve(answer.lookup) : reject(rebuiltError(answer.error)))));
    worker.once('error', (error) => settle(() => reject(error)));
    worker.once('exit', (code) => settle(() => reject(new Error(`the IDC index worker ended (exit code ${code}) without an answer`))));
  });
}

export function sentError(error: unknown): SentError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const e = error as Error & Partial<SentError>;
  return { name: e.name, message: e.message, stack: e.stack, code: e.code, hint: e.hint, status: e.status, s3Code: e.s3Code, retryable: e.retryable, retryAfterMs: e.retryAfterMs };
}

/** The error the lookup threw, as the class the run's handling looks for (exit code 2 for IdcIndexError, retries). */
function rebuiltError(sent: SentError): Error {
  const error = ((): Error => {
    switch (sent.name) {
      case 'IdcIndexError':
        return new IdcIndexError(sent.message);
      case 'IdcHttpError':
        return new IdcHttpError(sent.status ?? 0, sent.s3Code ?? '', sent.message, { retryable: sent.retryable, retryAfterMs: sent.retryAfterMs });
      case 'AbortedError':
        return new AbortedError(sent.message);
      default:
        // Anything else (a socket error, a bug) keeps its name and code, which is what retries and bug reports read.
        return Object.assign(new Error(sent.message), { name: sent.name, code: sent.code });
    }
  })();
  error.stack = sent.stack ?? error.stack;
  return error;
}
