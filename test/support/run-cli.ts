import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const CLI = resolve('dist', 'cli.js');

export interface CliResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Spawns the built CLI as a user would (the file itself, so its shebang applies), with only the environment given (plus PATH/HOME). */
export function runCli(args: string[], env: Record<string, string> = {}, options: { timeoutMs?: number; cwd?: string; onStdout?: (text: string, kill: (signal: NodeJS.Signals) => void) => void } = {}): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(CLI, args, {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: options.cwd,
    });
    let stdout = '';
    let stderr = '';
    const kill = (signal: NodeJS.Signals): void => {
      child.kill(signal);
    };
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      options.onStdout?.(stdout, kill);
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 90_000);
    child.on('error', reject);
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      resolvePromise({ exitCode, signal, stdout, stderr });
    });
  });
}

export async function tempDir(prefix = 'xtd-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** Writes a .tcia manifest listing the UIDs, in NBIA's own layout. */
export async function writeTciaManifest(dir: string, name: string, uids: string[]): Promise<string> {
  const path = join(dir, name);
  const header = [
    'downloadServerUrl=https://nbia.cancerimagingarchive.net/nbia-download/servlet/DownloadServlet',
    'includeAnnotation=true',
    'noOfrRetry=4',
    `databasketId=${name}`,
    'manifestVersion=3.0',
    'ListOfSeriesToDownload=',
  ];
  await writeFile(path, `${[...header, ...uids].join('\n')}\n`);
  return path;
}

/** The newest run's folder under an --output-dir (`latest` points at it). */
export function latestRun(outputDir: string): string {
  return join(outputDir, 'latest');
}

/** report.json of the newest run that got past its input checks. */
export async function latestReport<T = any>(outputDir: string): Promise<T> { // eslint-disable-line @typescript-eslint/no-explicit-any
  return JSON.parse(await readFile(join(latestRun(outputDir), 'report.json'), 'utf8')) as T;
}

/** Every run folder under an --output-dir, oldest first (run ids sort by time). */
export async function runFolders(outputDir: string): Promise<string[]> {
  const names = await readdir(outputDir, { withFileTypes: true }).catch(() => []);
  return names.filter((d) => d.isDirectory() && /^\d{8}T\d{9}Z-/.test(d.name)).map((d) => join(outputDir, d.name)).sort();
}
