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
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ILLEGAL_INPUT_STRINGS, replacementKey } from './validate-command.js';

/** The repository root (the image's /app). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A project resource as XNAT mounts it: a directory holding the files and XNAT's `<label>_catalog.xml`. */
export interface EmulatedResource {
  label: string;
  directory: string;
}

/** The project a container is launched on. */
export interface EmulatedProject {
  id: string;
  resources: EmulatedResource[];
}

/** Values posted with a launch, by wrapper or command input name (the CS takes them all as strings). */
export type LaunchValues = Record<string, string | number | boolean | undefined>;

/** A mount of the resolved container. */
export interface ResolvedMount {
  name: string;
  containerPath: string;
  writable: boolean;
  /** The host directory an input provides; undefined for an output mount (a fresh build dir). */
  hostPath?: string;
}

/** What the CS hands to the container backend after resolving a launch. */
export interface ResolvedLaunch {
  commandName: string;
  wrapperName: string;
  image: string;
  commandLine: string;
  overrideEntrypoint: boolean;
  mounts: ResolvedMount[];
  /** The command's environment-variables, templated; the CS adds its own variables at launch. */
  environment: Record<string, string>;
  /** Resolved wrapper input values (XNAT objects resolve to their URI, CS-575; docs/reference/container-service.md#wrappers). */
  wrapperValues: Record<string, string | null>;
  /** Resolved command input values, before flags are applied. */
  commandValues: Record<string, string | null>;
}

/** A launch the CS would refuse, with its reason. */
export class ResolutionError extends Error {
  override name = 'ResolutionError';
}

type Json = Record<string, unknown>;

/** An XNAT object as the CS serialises it for matchers and property look-ups. */
interface XnatObject extends Json {
  uri: string;
}

interface WrapperValue {
  value: string | null;
  object?: XnatObject;
  candidates?: XnatObject[];
}

function asList(value: unknown): Json[] {
  return Array.isArray(value) ? (value.filter((v) => typeof v === 'object' && v !== null) as Json[]) : [];
}

function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/**
 * Evaluates the JSONPath filter expressions this command uses against one object:
 * `@.prop == 'text'`, `@.prop =~ /regex/flags` and their conjunction with `&&` (how the CS joins a
 * value matcher with an input's own matcher). Jayway's `=~` is Java's Pattern.matches(), a
 * whole-string match. Anything else throws, so a command.json change the harness cannot emulate
 * fails loudly instead of silently matching.
 */
export function matches(matcher: string, object: Json): boolean {
  return matcher.split('&&').every((clause) => {
    const text = clause.trim();
    const equality = /^@\.([A-Za-z_-]+)\s*==\s*(?:'([^']*)'|"([^"]*)")$/.exec(text);
    if (equality) return String(object[equality[1]!] ?? '') === (equality[2] ?? equality[3]);
    const regex = /^@\.([A-Za-z_-]+)\s*=~\s*\/(.*)\/([a-z]*)$/.exec(text);
    if (regex) {
      const flags = regex[3]!;
      if (/[^ims]/.test(flags)) throw new Error(`matcher flags "${flags}" are not emulated`);
      return new RegExp(`^(?:${regex[2]!})$`, flags).test(String(object[regex[1]!] ?? ''));
    }
    throw new Error(`matcher clause "${text}" is not emulated by this harness`);
  });
}

/**
 * Splits a command line into arguments the way the CS's ShellSplitter does for
 * override-entrypoint false (docs/reference/container-service.md#launch): whitespace separates, single and double quotes group, a
 * backslash escapes the next character except inside single quotes, and empty words vanish.
 */
export function shellSplit(line: string): string[] {
  const words: string[] = [];
  let current = '';
  let quote: '"' | "'" | undefined;
  let escaping = false;
  for (const ch of line) {
    if (escaping) {
      current += ch;
      escaping = false;
    } else if (ch === '\\' && quote !== "'") {
      escaping = true;
    } else if (quote !== undefined) {
      if (ch === quote) quote = undefined;
      else current += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
    } else if (/\s/.test(ch)) {
      if (current.length > 0) words.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  if (quote !== undefined) throw new ResolutionError(`unbalanced ${quote} in command line: ${line}`);
  if (current.length > 0) words.push(current);
  return words;
}

/** Lists a resource's files as the CS sees them: every file under the directory except XNAT's catalog. */
function resourceFiles(resource: EmulatedResource, uri: string): XnatObject[] {
  const files: XnatObject[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile() && !(dir === resource.directory && entry.name.endsWith('_catalog.xml'))) {
        const path = relative(resource.directory, full);
        files.push({ name: entry.name, path, uri: `${uri}/files/${path}`, size: statSync(full).size, tags: [], format: null, content: null });
      }
    }
  };
  walk(resource.directory);
  return files;
}

function projectObject(project: EmulatedProject): XnatObject {
  const uri = `/archive/projects/${project.id}`;
  return {
    id: project.id,
    label: project.id,
    xsiType: 'xnat:projectData',
    uri,
    directory: `/data/xnat/archive/${project.id}/arc001`,
    resources: project.resources.map((resource, i): XnatObject => {
      const resourceUri = `${uri}/resources/${resource.label}`;
      return {
        id: String(i + 1),
        'integer-id': i + 1,
        label: resource.label,
        xsiType: 'xnat:resourceCatalog',
        uri: resourceUri,
        directory: resource.directory,
        files: resourceFiles(resource, resourceUri),
      };
    }),
  };
}

/** The CS refuses any value holding a shell separator (CommandResolutionService.ILLEGAL_INPUT_STRINGS). */
function checkLegal(name: string, value: string | null): void {
  for (const illegal of ILLEGAL_INPUT_STRINGS) {
    if (value?.includes(illegal)) throw new ResolutionError(`Input "${name}" has a value containing illegal string "${illegal}".`);
  }
}

function launchValue(launch: LaunchValues, name: string): string | undefined {
  const value = launch[name];
  return value === undefined ? undefined : String(value);
}

/** Picks the children matching the input's matcher and, if a value was posted, that value (by each key in turn). */
function pickChildren(children: XnatObject[], matcher: string | undefined, value: string | undefined, keys: string[]): XnatObject[] {
  const matching = matcher ? children.filter((child) => matches(matcher, child)) : children;
  if (value === undefined || value === '') return matching;
  for (const key of keys) {
    const picked = matching.filter((child) => String(child[key]) === value);
    if (picked.length > 0) return picked;
  }
  return [];
}

/** Replaces every replacement key in a template with its value (CS resolveTemplate). */
function fillTemplate(template: string, values: Map<string, string>): string {
  let out = template;
  for (const [key, value] of values) out = out.split(key).join(value);
  return out;
}

/**
 * Resolves a launch of `wrapperName` on `project` with the posted `launch` values, as the CS does:
 * external input, derived inputs in order, command inputs (default, then posted value, then the
 * value a wrapper input provides), command-line values with flags, and mounts.
 */
export function resolveLaunch(command: Json, wrapperName: string, launch: LaunchValues, project: EmulatedProject): ResolvedLaunch {
  const wrapper = asList(command.xnat).find((w) => w.name === wrapperName);
  if (!wrapper) throw new ResolutionError(`command "${String(command.name)}" has no wrapper "${wrapperName}"`);

  const wrapperValues = new Map<string, WrapperValue>();
  const wrapperInputs = new Map<string, Json>();
  const valueKeys = new Map<string, string>();

  for (const input of asList(wrapper['external-inputs'])) {
    const name = asString(input.name)!;
    wrapperInputs.set(name, input);
    if (input.type !== 'Project') throw new Error(`external input type ${String(input.type)} is not emulated`);
    const posted = launchValue(launch, name) ?? asString(input['default-value']);
    checkLegal(name, posted ?? null);
    // A value may be an ID or a URI; values starting with / resolve as /archive + value (docs/reference/container-service.md#launch).
    const id = posted?.replace(/^(\/archive)?\/projects\//, '');
    let entry: WrapperValue = { value: null };
    if (id !== undefined && id !== '') {
      if (id !== project.id) throw new ResolutionError(`Could not instantiate Project with value "${posted}".`);
      const object = projectObject(project);
      const matcher = asString(input.matcher);
      if (!matcher || matches(matcher, object)) entry = { value: object.uri, object };
    }
    wrapperValues.set(name, entry);
    valueKeys.set(replacementKey(input), entry.value ?? '');
  }

  for (const input of asList(wrapper['derived-inputs'])) {
    const name = asString(input.name)!;
    wrapperInputs.set(name, input);
    const parentName = asString(input['derived-from-wrapper-input'])!;
    const parent = wrapperValues.get(parentName);
    if (!parent) throw new ResolutionError(`Derived input "${name}" claims parent "${parentName}", but it is not earlier.`);
    const posted = launchValue(launch, name) ?? asString(input['default-value']);
    const matcher = asString(input.matcher);
    const property = asString(input['derived-from-xnat-object-property']);
    let entry: WrapperValue = { value: null };
    if (parent.object) {
      if (input.type === 'string' && property) {
        const value = parent.object[property];
        entry = { value: value === undefined || value === null ? null : String(value) };
      } else if (input.type === 'Resource') {
        const found = pickChildren(asList(parent.object.resources) as XnatObject[], matcher, posted, ['label', 'id', 'uri']);
        entry = found.length === 1 ? { value: found[0]!.uri, object: found[0] } : { value: null, candidates: found };
      } else if (input.type === 'File') {
        const found = pickChildren(asList(parent.object.files) as XnatObject[], matcher, posted, ['name']);
        entry = found.length === 1 ? { value: found[0]!.uri, object: found[0] } : { value: null, candidates: found };
      } else {
        throw new Error(`derived input type ${String(input.type)} is not emulated`);
      }
    }
    if (entry.candidates && entry.candidates.length > 1) {
      // The UI offers the choices; a launch that picks none cannot resolve (findResolvedValues).
      throw new ResolutionError(
        `Input "${name}" does not have a unique, resolved value and multiple = true is not set ` +
          `(candidates: ${entry.candidates.map((c) => String(c.name ?? c.label)).join(', ')}).`,
      );
    }
    checkLegal(name, entry.value);
    wrapperValues.set(name, entry);
    valueKeys.set(replacementKey(input), entry.value ?? '');
  }

  // External inputs default to required (Command.java:1528-1529); derived ones only when they say so.
  const externalNames = new Set(asList(wrapper['external-inputs']).map((input) => asString(input.name)));
  const missing = [...wrapperInputs]
    .filter(([name, input]) => (externalNames.has(name) ? input.required !== false : input.required === true))
    .filter(([name]) => wrapperValues.get(name)?.value == null)
    .map(([name]) => name);

  // Command inputs: default, then the posted value, then the value a wrapper input provides.
  const providers = new Map<string, string>();
  for (const [name, input] of wrapperInputs) {
    const target = asString(input['provides-value-for-command-input']);
    if (target) providers.set(target, name);
  }
  const commandValues: Record<string, string | null> = {};
  const lineValues = new Map<string, string>();
  for (const input of asList(command.inputs)) {
    const name = asString(input.name)!;
    let value: string | null = input['default-value'] === undefined ? null : String(input['default-value']);
    const posted = launchValue(launch, name);
    if (posted !== undefined) value = posted;
    const provider = providers.get(name);
    if (provider !== undefined) {
      const provided = wrapperValues.get(provider)?.value;
      if (provided !== undefined && provided !== null) value = provided;
    }
    if (input.type === 'boolean') {
      // Java's Boolean.parseBoolean: only "true" (any case) is true; true-/false-value replace it.
      const truthy = (value ?? '').toLowerCase() === 'true';
      const mapped = truthy ? input['true-value'] : input['false-value'];
      if (mapped !== undefined && mapped !== null) value = String(mapped);
    }
    checkLegal(name, value);
    if (input.required === true && (value === null || value === '')) missing.push(name);
    commandValues[name] = value;
    valueKeys.set(replacementKey(input), value ?? '');
    // A blank value puts nothing on the line, flag included; otherwise flag + separator + value.
    const flag = asString(input['command-line-flag']) ?? '';
    const separator = asString(input['command-line-separator']) ?? ' ';
    lineValues.set(replacementKey(input), !value ? '' : flag.trim() ? `${flag}${separator}${value}` : value);
  }
  if (missing.length > 0) throw new ResolutionError(`Missing values for required inputs: ${missing.join(', ')}.`);

  // Mounts: an input that provides files makes an input mount; any other is a fresh output mount.
  const mounts: ResolvedMount[] = asList(command.mounts).map((mount) => {
    const name = asString(mount.name)!;
    const feeder = [...wrapperInputs].find(([, input]) => input['provides-files-for-command-mount'] === name);
    const containerPath = asString(mount.path)!;
    if (!feeder) return { name, containerPath, writable: true };
    const object = wrapperValues.get(feeder[0])?.object;
    if (!object || typeof object.directory !== 'string') {
      throw new ResolutionError(`Mount "${name}" gets its files from "${feeder[0]}", which resolved to nothing.`);
    }
    return { name, containerPath, writable: mount.writable === true, hostPath: object.directory };
  });

  const environment: Record<string, string> = {};
  const env = command['environment-variables'];
  if (env && typeof env === 'object') {
    for (const [key, value] of Object.entries(env as Record<string, unknown>)) {
      environment[fillTemplate(key, valueKeys)] = fillTemplate(String(value), valueKeys);
    }
  }

  return {
    commandName: String(command.name),
    wrapperName,
    image: String(command.image),
    commandLine: fillTemplate(asString(command['command-line']) ?? '', lineValues),
    overrideEntrypoint: command['override-entrypoint'] === true,
    mounts,
    environment,
    wrapperValues: Object.fromEntries([...wrapperValues].map(([k, v]) => [k, v.value])),
    commandValues,
  };
}

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

/**
 * The argv of the container's first process, as the backend starts it (docs/reference/container-service.md#launch):
 * override-entrypoint true runs `/bin/sh -c <line>` with the entrypoint cleared; false passes the
 * shell-split line as arguments to the image's ENTRYPOINT, with no shell involved.
 */
export function containerArgv(resolved: ResolvedLaunch, entrypoint: string[]): string[] {
  return resolved.overrideEntrypoint ? ['/bin/sh', '-c', resolved.commandLine] : [...entrypoint, ...shellSplit(resolved.commandLine)];
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
