import type { Argv } from 'yargs';
import { LOG_LEVELS } from './config.js';
import { UsageError } from './errors.js';
import type { Tuning } from './run.js';
import { SOURCE_MODES } from './sources/route.js';

/** The `import` command's options, as yargs reads them, and the hidden timing options turned into a run's tuning. */

/** Choices are matched in any case, as XTD_SOURCE is: `--log-level INFO` means info. */
function lowerCase(value: unknown): unknown {
  return typeof value === 'string' ? value.toLowerCase() : value;
}

export function importOptions(y: Argv): Argv {
  return y
    .positional('manifest', { describe: 'Path of a .tcia manifest or a CSV with a SeriesInstanceUID column', type: 'string' })
    .option('project', { alias: 'p', type: 'string', describe: 'Target XNAT project ID (created if missing). Given twice, the last one wins.' })
    .option('xnat-host', { type: 'string', describe: 'XNAT base URL; https:// is assumed without a scheme [env: XNAT_HOST]' })
    .option('xnat-user', { type: 'string', describe: 'XNAT user or alias token [env: XNAT_USER]' })
    .option('xnat-pass', { type: 'string', describe: 'XNAT password or token secret; prefer the XNAT_PASS environment variable [env: XNAT_PASS]' })
    .option('tcia-url', { type: 'string', describe: "TCIA server root scheme://host[:port], used as given (default: from the manifest's downloadServerUrl) [env: TCIA_URL]" })
    .option('concurrency', { alias: 'c', type: 'number', default: 4, describe: 'Series in flight at once, across different sessions' })
    .option('attempts', { alias: 'retries', type: 'number', describe: "Attempts per series, the first included (default: the manifest's noOfrRetry, else 4); --retries is the old name" })
    .option('dry-run', { type: 'boolean', default: false, describe: 'Print the plan (series, subject, session, images, size) and change nothing' })
    .option('plan-table', { type: 'boolean', default: false, describe: 'With --dry-run: print every series, not one line per session' })
    .option('output-dir', { alias: 'o', type: 'string', default: 'xnat-tcia-download-output', describe: 'Each run writes report.json, report.csv and run.log.jsonl into <output-dir>/<run id>/' })
    .option('log-level', { type: 'string', coerce: lowerCase, choices: LOG_LEVELS as string[], default: 'info', describe: 'Detail of the readable log on stdout (the summary line is printed at any level)' })
    .option('insecure', { type: 'boolean', default: false, describe: 'Do not verify TLS certificates (prefer NODE_EXTRA_CA_CERTS for a private CA).' })
    .option('progress', { type: 'string', coerce: lowerCase, choices: ['auto', 'on', 'off'], default: 'auto', describe: 'Progress display: a live bar on a terminal, periodic lines elsewhere' })
    .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'Only warnings, errors and the summary' })
    .option('source', { type: 'string', coerce: lowerCase, choices: SOURCE_MODES as string[], describe: "Where series come from: auto (IDC for what its index holds, NBIA for the rest and as fallback), idc, nbia (default: auto) [env: XTD_SOURCE]" })
    .option('idc-index', { type: 'string', describe: "URL or path of IDC's tcia_idc_subset.parquet (default: IDC's public URL) [env: IDC_INDEX]" })
    .option('idc-endpoint', { type: 'string', describe: 'S3-compatible server for IDC\'s buckets, addressed <URL>/<bucket>/<key> (default: AWS) [env: IDC_ENDPOINT]' })
    .option('idc-connections', { type: 'number', describe: 'IDC downloads at once, across the whole run (default: 8)' })
    .option('cache-dir', { type: 'string', describe: 'Where the IDC index is cached between runs (default: <output-dir>/cache)' })
    .option('stall-timeout', { type: 'number', hidden: true, describe: 'Seconds of silence before a download counts as stalled' })
    .option('retry-delay', { type: 'number', hidden: true, describe: 'Base retry delay in seconds' })
    .option('settle-timeout', { type: 'number', hidden: true, describe: 'Seconds to wait for XNAT to settle a commit whose answer was lost' })
    .option('poll-interval', { type: 'number', hidden: true, describe: 'Seconds between polls while waiting for XNAT' })
    .option('progress-interval', { type: 'number', hidden: true, describe: 'Seconds between progress lines when there is no terminal' });
}

export function tuningFrom(args: Record<string, unknown>): Partial<Tuning> {
  for (const key of ['stall-timeout', 'retry-delay', 'settle-timeout', 'poll-interval', 'progress-interval']) {
    const value = args[key];
    if (value !== undefined && !(typeof value === 'number' && value > 0 && Number.isFinite(value))) throw new UsageError(`--${key} must be a number of seconds above 0`);
  }
  const seconds = (key: string): number | undefined => (typeof args[key] === 'number' ? (args[key] as number) * 1000 : undefined);
  const tuning: Partial<Tuning> = {};
  if (seconds('stall-timeout') !== undefined) tuning.stallTimeoutMs = seconds('stall-timeout');
  if (seconds('retry-delay') !== undefined) tuning.baseDelayMs = seconds('retry-delay');
  if (seconds('settle-timeout') !== undefined) tuning.settleTimeoutMs = seconds('settle-timeout');
  if (seconds('poll-interval') !== undefined) tuning.pollIntervalMs = seconds('poll-interval');
  if (typeof args['progress-interval'] === 'number') tuning.progressIntervalSeconds = args['progress-interval'];
  return tuning;
}
