import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError } from './errors.js';
import { checkProxyEnvironment, isLoopback } from './proxy.js';
import { DEFAULT_IDC_INDEX, isUrl } from './sources/idc/index-location.js';
import { SOURCE_MODES, type SourceMode } from './sources/route.js';

/**
 * Everything a run needs, resolved once from flags and environment and then frozen. Nothing reads process.env after
 * this but the proxy choice per request (src/proxy.ts), from the proxy variables, which are checked here first.
 */
export interface Config {
  manifestPath: string;
  project: string;
  xnat: { host: string; user: string; pass: string; insecure: boolean };
  /** TCIA server root (scheme://host[:port]) when the user chose one; otherwise it comes from the manifest. */
  tciaUrl?: string;
  concurrency: number;
  /** Attempts per series; undefined means the manifest's noOfrRetry. */
  retries?: number;
  dryRun: boolean;
  /** Dry run: print every series, not the per-session summary. */
  planTable: boolean;
  outputDir: string;
  logLevel: LogLevel;
  progress: 'auto' | 'on' | 'off';
  quiet: boolean;
  /** Where the password came from, so the CLI can warn about argv. */
  passwordFromArgv: boolean;
  originalForm: boolean;
  /** Where series come from (README "Sources"). */
  sources: SourcesConfig;
  warnings: string[];
}

export interface SourcesConfig {
  mode: SourceMode;
  /** The IDC index: a URL or a local parquet file. */
  idcIndex: string;
  /** An S3-compatible server root (path-style); undefined: AWS, virtual-hosted. */
  idcEndpoint?: string;
  /** IDC downloads at once, across the whole run. */
  idcConnections: number;
  /** Where the index's byte ranges are cached between runs. */
  cacheDir: string;
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];

export interface RawOptions {
  manifest: string;
  project?: string;
  xnatHost?: string;
  xnatUser?: string;
  xnatPass?: string;
  tciaUrl?: string;
  concurrency?: number;
  retries?: number;
  dryRun?: boolean;
  planTable?: boolean;
  outputDir?: string;
  logLevel?: string;
  insecure?: boolean;
  progress?: string;
  quiet?: boolean;
  passwordFromArgv?: boolean;
  /** The original tool's six-argument form, whose password is the last argument. */
  originalForm?: boolean;
  source?: string;
  idcIndex?: string;
  idcEndpoint?: string;
  idcConnections?: number;
  cacheDir?: string;
}

export interface XnatAccess {
  host: string;
  user: string;
  pass: string;
  insecure: boolean;
}

/** XNAT project IDs are [A-Za-z0-9_-]; XNAT answers anything else with 417 (docs/reference/xnat-rest.md#projects). */
const PROJECT_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** The target project ID, checked the way XNAT checks it. */
export function resolveProject(value: string | undefined): string {
  const project = (value ?? '').trim();
  if (!project) throw new UsageError('no target project given', 'pass --project <ID>');
  if (!PROJECT_ID.test(project)) {
    throw new UsageError(`project ID '${project}' is not valid`, 'XNAT project IDs use only letters, digits, _ and -');
  }
  return project;
}

export function resolveConfig(raw: RawOptions, env: NodeJS.ProcessEnv): Readonly<Config> {
  const warnings: string[] = [];
  const project = resolveProject(raw.project);

  const dryRun = raw.dryRun ?? false;
  // A preview flag on a real import would be ignored while the import runs: refused instead.
  if (raw.planTable && !dryRun) throw new UsageError('--plan-table goes with --dry-run: it lists the plan instead of importing', 'add --dry-run to see every series, or leave --plan-table out to import');
  const { host, user, pass, insecure } = resolveXnatAccess(raw, env, warnings);
  checkProxyEnvironment(env);

  const tciaRaw = (raw.tciaUrl ?? env.TCIA_URL ?? '').trim();
  const tciaUrl = tciaRaw ? tciaServerRoot(tciaRaw) : undefined;

  const concurrency = raw.concurrency ?? 4;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
    throw new UsageError(`--concurrency must be a whole number from 1 to 64 (got ${given(raw.concurrency)})`);
  }
  if (raw.retries !== undefined && (!Number.isInteger(raw.retries) || raw.retries < 1 || raw.retries > 20)) {
    throw new UsageError(`--attempts (--retries) must be a whole number from 1 to 20 (got ${given(raw.retries)})`);
  }
  const logLevel = (raw.logLevel ?? 'info').toLowerCase() as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  const progress = (raw.progress ?? 'auto') as Config['progress'];
  if (!['auto', 'on', 'off'].includes(progress)) throw new UsageError('--progress must be auto, on or off');

  const outputDir = resolve(raw.outputDir ?? 'xnat-tcia-download-output');
  return Object.freeze({
    manifestPath: resolve(raw.manifest),
    project,
    xnat: Object.freeze({ host, user, pass, insecure }),
    tciaUrl,
    concurrency,
    retries: raw.retries,
    dryRun,
    planTable: raw.planTable ?? false,
    outputDir,
    logLevel,
    progress,
    quiet: raw.quiet ?? false,
    passwordFromArgv: raw.passwordFromArgv ?? false,
    originalForm: raw.originalForm ?? false,
    sources: Object.freeze(resolveSources(raw, env, outputDir)),
    warnings,
  });
}

/** --source and the IDC flags, with their environment variables; the IDC ones are checked only when IDC is used. */
export function resolveSources(raw: Pick<RawOptions, 'source' | 'idcIndex' | 'idcEndpoint' | 'idcConnections' | 'cacheDir'>, env: NodeJS.ProcessEnv, outputDir: string): SourcesConfig {
  const mode = (raw.source ?? env.XTD_SOURCE ?? 'auto').trim().toLowerCase() as SourceMode;
  if (!SOURCE_MODES.includes(mode)) {
    const from = raw.source === undefined ? 'XTD_SOURCE' : '--source';
    throw new UsageError(`${from} '${raw.source ?? env.XTD_SOURCE}' is not one of ${SOURCE_MODES.join(', ')}`);
  }
  const idcIndex = (raw.idcIndex ?? env.IDC_INDEX ?? '').trim() || DEFAULT_IDC_INDEX;
  const endpointRaw = (raw.idcEndpoint ?? env.IDC_ENDPOINT ?? '').trim();
  const idcConnections = raw.idcConnections ?? 8;
  const cacheDir = resolve(raw.cacheDir ?? join(outputDir, 'cache'));
  if (mode === 'nbia') return { mode, idcIndex, idcConnections, cacheDir };
  if (!Number.isInteger(idcConnections) || idcConnections < 1 || idcConnections > 64) {
    throw new UsageError(`--idc-connections must be a whole number from 1 to 64 (got ${given(raw.idcConnections)})`);
  }
  if (isUrl(idcIndex)) normaliseUrl(idcIndex, '--idc-index');
  else if (!existsSync(idcIndex)) throw new UsageError(`--idc-index ${idcIndex}: no such file`, 'give the URL or the path of tcia_idc_subset.parquet');
  const idcEndpoint = endpointRaw ? normaliseUrl(endpointRaw, '--idc-endpoint') : undefined;
  return { mode, idcIndex: isUrl(idcIndex) ? idcIndex : resolve(idcIndex), idcEndpoint, idcConnections, cacheDir };
}

/**
 * Where XNAT is and who logs in, from flags first, then the environment. A missing value is named with the
 * flag and variable that give it; --insecure warns here, once per run.
 */
/** The warning for a password given on the command line; `instead` is what to do about it. */
export function passwordOnCommandLine(instead = 'set XNAT_PASS instead'): string {
  return `the XNAT password was given on the command line, where other users can read it (ps, shell history); ${instead}`;
}

export function resolveXnatAccess(raw: Pick<RawOptions, 'xnatHost' | 'xnatUser' | 'xnatPass' | 'insecure'>, env: NodeJS.ProcessEnv, warnings: string[]): XnatAccess {
  const hostRaw = (raw.xnatHost ?? env.XNAT_HOST ?? '').trim();
  const user = raw.xnatUser ?? env.XNAT_USER ?? '';
  const pass = raw.xnatPass ?? env.XNAT_PASS ?? '';
  if (!hostRaw) throw new UsageError('no XNAT host given', 'pass --xnat-host https://your-xnat or set XNAT_HOST');
  if (!user) throw new UsageError('no XNAT user given: XNAT_USER is not set', 'set XNAT_USER to your user name or an alias token, or pass --xnat-user');
  if (!pass) {
    throw new UsageError(`no XNAT password given for user '${user}': XNAT_PASS is not set`, 'set XNAT_PASS to the password or the alias token secret, or run on a terminal to be asked for it');
  }
  const host = normaliseUrl(hostRaw, '--xnat-host');
  if (host.startsWith('http://') && !isLoopback(new URL(host))) {
    warnings.push(`XNAT host ${host} uses plain HTTP: credentials and data cross the network unencrypted`);
  }
  const insecure = raw.insecure ?? false;
  if (insecure) warnings.push('--insecure: TLS certificates of XNAT and TCIA are not verified; for a private CA prefer NODE_EXTRA_CA_CERTS=/path/ca.pem');
  return { host, user, pass, insecure };
}

/** Adds https:// when no scheme is given (HTTPS unless the user says otherwise) and drops trailing slashes. */
export function normaliseUrl(value: string, flag: string): string {
  // No base URL of XNAT, TCIA or IDC holds an '@': one that does carries credentials, and may even parse without
  // showing them (user:2024/pass@host reads as host 'user', port 2024), so it is refused before it is read.
  if (value.includes('@')) throw new UsageError(`${flag} '${withoutUserinfo(value)}' holds '@': credentials do not belong in it`, 'set XNAT_USER and XNAT_PASS instead; the URL is scheme://host[:port]');
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `https://${value}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new UsageError(`${flag} '${value}' is not a URL`, 'use scheme://host[:port], e.g. https://xnat.example.org');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new UsageError(`${flag} must be an http(s) URL`);
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
}

/**
 * --tcia-url / TCIA_URL: the server root. A manifest's downloadServerUrl, pasted as it is, ends in the API's path
 * (`…/nbia-api/services/v1`, which the tool adds itself) or the download servlet's: taken off rather than doubled.
 */
export function tciaServerRoot(value: string): string {
  return normaliseUrl(value, '--tcia-url').replace(/\/(nbia-api(\/services(\/v\d+)?)?|nbia-download\/servlet\/DownloadServlet)$/i, '');
}

/** A number option's value for a message: yargs gives NaN for a word. */
function given(value: number | undefined): string {
  return Number.isNaN(value) ? 'not a number' : String(value);
}

/** The level of the lines a person sees: --quiet keeps warnings and errors. */
export function consoleLogLevel(config: Pick<Config, 'quiet' | 'logLevel'>): LogLevel {
  return config.quiet ? 'warn' : config.logLevel;
}

/** A URL as given, with anything before an '@' in its authority taken out, for messages and prompts. */
export function withoutUserinfo(value: string): string {
  return value.replace(/^((?:[a-z][a-z0-9+.-]*:\/\/)?).*@/i, '$1…@');
}

