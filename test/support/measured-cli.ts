import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { INDEX_BUCKET, INDEX_KEY } from '../../emulators/idc/index.js';
import type { EmulatorProcess } from '../../emulators/process.js';
import { runCli, type CliResult } from './run-cli.js';

/** The XNAT user the peak-RSS tests run as. */
export const RSS_USER = { username: 'rss', password: 'rss-pass', admin: true };
const PROBE = pathToFileURL(resolve('scripts', 'bench-memory-probe.mjs')).href;

/**
 * Runs the CLI with `--source idc` against the IDC and XNAT emulators, the bench's memory probe preloaded through
 * NODE_OPTIONS, and returns the kernel's peak RSS of the whole process at its exit (MB).
 */
export async function runIdcCliMeasured(args: string[], emulators: { idc: EmulatorProcess; xnat: EmulatorProcess; nbia?: EmulatorProcess }, dir: string, timeoutMs: number): Promise<{ result: CliResult; maxRss: number }> {
  const { idc, xnat, nbia } = emulators;
  const memoryFile = join(dir, 'memory.json');
  const result = await runCli([...args, '--source', 'idc', '--progress', 'off'], {
    XNAT_HOST: xnat.url, XNAT_USER: RSS_USER.username, XNAT_PASS: RSS_USER.password,
    IDC_INDEX: `${idc.url}/${INDEX_BUCKET}/${INDEX_KEY}`, IDC_ENDPOINT: idc.url,
    // With --source idc TCIA is asked only for the MD5 of an object whose ETag is not one; without an NBIA
    // emulator, a closed port makes any request fail loudly.
    TCIA_URL: nbia?.url ?? 'http://127.0.0.1:9',
    NODE_OPTIONS: `--import ${PROBE}`, BENCH_MEMORY_OUT: memoryFile,
  }, { timeoutMs });
  const maxRss = result.exitCode === 0 ? (JSON.parse(await readFile(memoryFile, 'utf8')) as { maxRss: number }).maxRss : Number.NaN;
  return { result, maxRss };
}
