/**
 * A stand-in for the XNAT Container Service (CS) launching this image on a project: it resolves a
 * wrapper's inputs against an emulated project, builds the command line, environment and mounts as
 * the CS does, then runs the image's entrypoint on this machine with the mounts mapped onto temp
 * directories. Facts cited are in docs/reference/container-service.md.
 *
 * What is rewritten to run outside a container (and nothing else is):
 * - `/input` and `/output` (a whole argument, an argument prefix `/input/…`, or `--flag=/input…`;
 *   in shell mode, the same path words inside the line) become the temp input and output dirs;
 * - `/app/dist/cli.js` (the image's WORKDIR /app holds dist/ built from this repo) becomes
 *   `<repo>/dist/cli.js`;
 * - a leading `node` (the image's Node on PATH) becomes this process's Node (process.execPath).
 * The working directory is `<repo>` (the image's WORKDIR /app). The environment is the image's ENV
 * from the Dockerfile's runtime stage, then what the CS injects, then the caller's extras; nothing
 * is inherited from the test process except PATH (so `node` and `/bin/sh` resolve).
 */
import { spawn } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { containerArgv, type ResolvedLaunch } from './resolve.js';
import type { Json } from './xnat-objects.js';

export * from './resolve.js';
export { matches, type EmulatedProject, type EmulatedResource } from './xnat-objects.js';

/** The repository root (the image's /app). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The image's exec-form ENTRYPOINT, read from the Dockerfile's last ENTRYPOINT instruction. */
export function dockerfileEntrypoint(dockerfile: string): string[] {
  const lines = dockerfile.split('\n').filter((line) => /^ENTRYPOINT\s/i.test(line));
  const last = lines[lines.length - 1];
  if (!last) throw new Error('the Dockerfile has no ENTRYPOINT');
  const parsed: unknown = JSON.parse(last.replace(/^ENTRYPOINT\s+/i, ''));
  if (!Array.isArray(parsed) || !parsed.every((p) => typeof p === 'string')) throw new Error('ENTRYPOINT is not exec form');
  return parsed as string[];
}

/** The ENV of the Dockerfile's final stage (simple `ENV KEY=value` forms). */
export function dockerfileEnv(dockerfile: string): Record<string, string> {
  const stages = dockerfile.split(/^FROM\s/im);
  const finalStage = stages[stages.length - 1] ?? '';
  const env: Record<string, string> = {};
  for (const line of finalStage.split('\n')) {
    const match = /^ENV\s+([A-Za-z_][A-Za-z0-9_]*)=(\S*)\s*$/i.exec(line);
    if (match) env[match[1]!] = match[2]!;
  }
  return env;
}

/** Maps container paths onto host paths (see the file comment for exactly what is rewritten). */
export interface PathMap {
  input: string;
  output: string;
  repoRoot: string;
}

function rewritePathPrefix(arg: string, from: string, to: string): string {
  if (arg === from || arg.startsWith(`${from}/`)) return to + arg.slice(from.length);
  const eq = arg.indexOf('=');
  if (eq > 0 && arg.startsWith('-')) return arg.slice(0, eq + 1) + rewritePathPrefix(arg.slice(eq + 1), from, to);
  return arg;
}

/** Rewrites a container argv to run on this machine. */
export function localArgv(argv: string[], map: PathMap, overrideEntrypoint: boolean): string[] {
  const appCli = '/app/dist/cli.js';
  const localCli = join(map.repoRoot, 'dist', 'cli.js');
  if (overrideEntrypoint) {
    // Shell mode: rewrite the path words inside the line; the leading `node` stays a PATH lookup.
    const word = (path: string): RegExp => new RegExp(`(^|[\\s"'=])${path.replace(/[/.]/g, '\\$&')}(?=$|[\\s"'/])`, 'g');
    const line = argv[2]!
      .replace(word(appCli), `$1${localCli}`)
      .replace(word('/input'), `$1${map.input}`)
      .replace(word('/output'), `$1${map.output}`);
    return [argv[0]!, argv[1]!, line];
  }
  return argv.map((arg, i) => {
    if (i === 0 && arg === 'node') return process.execPath;
    if (arg === appCli) return localCli;
    return rewritePathPrefix(rewritePathPrefix(arg, '/input', map.input), '/output', map.output);
  });
}

/** Credentials and extras for a local launch. */
export interface LaunchOptions {
  /** What the CS injects (docs/reference/container-service.md#environment): the site's processing URL and an alias token pair. */
  xnatHost: string;
  xnatUser: string;
  xnatPass: string;
  /** Extra environment, e.g. TCIA_URL pointing at the NBIA emulator. */
  env?: Record<string, string>;
  repoRoot?: string;
  timeoutMs?: number;
  /** Called with the child once it runs (e.g. to send SIGTERM mid-run). */
  onStart?: (child: import('node:child_process').ChildProcess) => void;
}

/** What a local launch produced. */
export interface LaunchResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The host directory standing in for /output. */
  outputDir: string;
  /** The host directory standing in for /input (a read-only copy of the resource directory). */
  inputDir: string;
  /** The container argv and the local argv it was rewritten to. */
  containerArgv: string[];
  argv: string[];
  env: Record<string, string>;
  /** Temp root holding inputDir and outputDir; remove it with disposeLaunch. */
  workDir: string;
}

function setModeRecursive(path: string, dirMode: number, fileMode: number): void {
  const stats = statSync(path);
  if (stats.isDirectory()) {
    for (const entry of readdirSync(path)) setModeRecursive(join(path, entry), dirMode, fileMode);
    chmodSync(path, dirMode);
  } else {
    chmodSync(path, fileMode);
  }
}

/**
 * Runs a resolved launch on this machine as the image would run it: /input is a read-only copy
 * of the resource directory (read-only is not enforced for root), /output a fresh writable dir.
 */
export async function launchLocally(resolved: ResolvedLaunch, options: LaunchOptions): Promise<LaunchResult> {
  const repoRoot = options.repoRoot ?? REPO_ROOT;
  const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
  const workDir = mkdtempSync(join(tmpdir(), 'xtd-cs-launch-'));
  const byPath = new Map(resolved.mounts.map((mount) => [mount.containerPath, mount]));
  const inputMount = byPath.get('/input');
  const outputMount = byPath.get('/output');
  if (!inputMount?.hostPath) throw new Error('the command has no /input mount fed by an input');
  if (!outputMount || outputMount.hostPath) throw new Error('the command has no /output output mount');
  const inputDir = join(workDir, 'input');
  const outputDir = join(workDir, 'output');
  cpSync(inputMount.hostPath, inputDir, { recursive: true });
  if (!inputMount.writable) setModeRecursive(inputDir, 0o555, 0o444);
  mkdirSync(outputDir);

  const argvInContainer = containerArgv(resolved, dockerfileEntrypoint(dockerfile));
  const argv = localArgv(argvInContainer, { input: inputDir, output: outputDir, repoRoot }, resolved.overrideEntrypoint);
  const env: Record<string, string> = {
    ...dockerfileEnv(dockerfile),
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: workDir,
    ...resolved.environment,
    // Injected on every launch (ContainerServiceImpl.getDefaultEnvironmentVariablesForLaunch, docs/reference/container-service.md#environment).
    XNAT_HOST: options.xnatHost,
    XNAT_USER: options.xnatUser,
    XNAT_PASS: options.xnatPass,
    XNAT_WORKFLOW_ID: '',
    XNAT_EVENT_ID: '',
    ...options.env,
  };

  const child = spawn(argv[0]!, argv.slice(1), { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  options.onStart?.(child);
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 110_000);
  const [exitCode, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolveExit, reject) => {
    child.once('error', reject);
    child.once('close', (code, sig) => resolveExit([code, sig]));
  }).finally(() => clearTimeout(timer));
  return { exitCode, signal, stdout, stderr, outputDir, inputDir, containerArgv: argvInContainer, argv, env, workDir };
}

/** Removes a launch's temp directories (restoring write permission on the read-only input first). */
export function disposeLaunch(result: Pick<LaunchResult, 'workDir' | 'inputDir'>): void {
  try {
    setModeRecursive(result.inputDir, 0o755, 0o644);
  } catch {
    // Already gone.
  }
  rmSync(result.workDir, { recursive: true, force: true });
}

/** Builds an emulated project resource directory holding a manifest and XNAT's catalog file beside it. */
export function makeResourceDir(parent: string, label: string, files: Record<string, string | Buffer>): string {
  const dir = join(parent, label);
  mkdirSync(dir, { recursive: true });
  const entries: string[] = [];
  for (const [name, content] of Object.entries(files)) {
    const path = join(dir, name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
    entries.push(`    <cat:entry URI="${name}" ID="${basename(name)}"/>`);
  }
  writeFileSync(
    join(dir, `${label}_catalog.xml`),
    `<?xml version="1.0" encoding="UTF-8"?>\n<cat:Catalog xmlns:cat="http://nrg.wustl.edu/catalog" ID="${label}">\n` +
      `  <cat:entries>\n${entries.join('\n')}\n  </cat:entries>\n</cat:Catalog>\n`,
  );
  return dir;
}

/** Reads command.json from the repository. */
export function readCommand(repoRoot = REPO_ROOT): Json {
  return JSON.parse(readFileSync(join(repoRoot, 'command.json'), 'utf8')) as Json;
}
