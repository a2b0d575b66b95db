/**
 * Worker-thread entry (bundled as dist/idc-index-worker.js): one index lookup, answered in one message. Why a
 * worker: src/sources/idc/lookup-in-worker.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { lookupIdcSeries } from './index-reader.js';
import { sentError, type LookupAnswer, type LookupRequest } from './lookup-in-worker.js';

const { source, uids, options } = workerData as LookupRequest;
let answer: LookupAnswer;
try {
  answer = { ok: true, lookup: await lookupIdcSeries(source, uids, options) };
} catch (error) {
  answer = { ok: false, error: sentError(error) };
}
parentPort?.postMessage(answer);
