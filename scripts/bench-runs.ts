/** The individual benchmark runs: the tool, the raw baseline, planning, and the verify micro-benchmark. */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type SeriesSpec } from '../emulators/nbia/index.js';
import { INDEX_BUCKET, INDEX_KEY } from '../emulators/idc/index.js';
import { runBaseline } from './bench-baseline.js';
import { perfRecordArgs } from './bench-cpu-kinds.js';
import { EmulatorProcess } from '../emulators/process.js';
import { machineBusySeconds, measureSelf, runMeasured, type ProcessCost } from './bench-measure.js';
import type { VerifyRelay, VerifyResult } from './bench-verify.js';

export const CLI = resolve('dist', 'cli.js');

/**
 * The node flags of the CLI's shebang: the bench starts node itself (to add profiling flags), and must run the tool
 * as `./dist/cli.js`, the installed command and the image do.
 */
export function cliNodeFlags(): string[] {
  const shebang = /^#!\/usr\/bin\/env -S node(.*)\n/.exec(readFileSync(CLI, 'utf8'));
  return shebang?.[1]?.trim().split(/\s+/).filter(Boolean) ?? [];
}
const MEMORY_PROBE = pathToFileURL(resolve('scripts', 'bench-memory-probe.mjs')).href;
export const USER = 'bench';
export const PASS = 'bench-password';
export const TOOL_PROJECT = 'BENCH_TOOL';
export const BASE_PROJECT = 'BENCH_RAW';

/** A collection and the manifest that lists it. */
export interface Dataset {
  name: string;
  collection: SeriesSpec[];
  manifestPath: string;
  images: number;
  /** DICOM bytes (what both the tool and the baseline must deliver), not zip bytes. */
  bytes: number;
  /** A folder of the collection's getImage zips, built before the measured runs (storeZips). */
  zipStore?: string;
  /** A folder of the collection's IDC objects, built before the measured runs (storeIdcObjects). */
  idcStore?: string;
}

export type Side = 'tool' | 'baseline' | 'tool-idc';

/** One measured run. */
export interface RunResult {
  /** Which pass of the benchmark it belongs to, e.g. 'capped 20 MB/s'. */
  pass: string;
  dataset: string;
  /** Per-connection cap in MB/s, 0 for none. */
  capMBps: number;
  /** 'tool-idc' is the tool with --source idc, every series from the IDC emulator's buckets. */
  who: Side;
  concurrency: number;
  cost: ProcessCost;
  /** The tool's own transfer phase from its report (no start-up, planning or records); the wall time for the baseline. */
  transferSeconds: number;
  /** The source emulators' CPU: NBIA's, plus IDC's in a tool-idc run. */
  nbiaCpuSeconds: number;
  xnatCpuSeconds: number;
  /** CPU seconds the whole machine was busy during the run, every process included. */
  machineCpuSeconds: number;
  series: number;
  files: number;
  bytes: number;
  /** '' when XNAT holds exactly what was sent; otherwise what is wrong. */
  problem: string;
  profileDir?: string;
  /** The verify floor in CPU s per GB, measured on one core just before this run at its data's ratio. */
  floorCpuPerGB?: number;
  /** With a profile: process.memoryUsage() in MB at the tool's peak RSS, from scripts/bench-memory-probe.mjs. */
  memory?: MemoryBreakdown;
}

/** What scripts/bench-memory-probe.mjs writes. */
export interface MemoryBreakdown {
  atPeakRss: { rss: number; heapTotal: number; heapUsed: number; external: number; arrayBuffers: number };
  max: { heapUsed: number; heapTotal: number; external: number; arrayBuffers: number };
}

export interface RunSetup {
  pass: string;
  dataset: Dataset;
  /** zlib level of the NBIA emulator's zip entries; see zipShape(). */
  deflateLevel: number;
  capMBps: number;
  concurrency: number;
  workDir: string;
  /** Writes .cpuprofile files of the tool (or this process) and both emulators here. */
  profileDir?: string;
  /** Records the tool with `perf record -g` into this file (scripts/bench-cpu-kinds.ts). */
  perfFile?: string;
}

/** Writes the .tcia manifest that lists a collection, in NBIA's layout. */
export async function writeManifest(path: string, uids: string[]): Promise<void> {
  const header = [
    'downloadServerUrl=https://nbia.cancerimagingarchive.net/nbia-download/servlet/DownloadServlet',
    'includeAnnotation=true',
    'noOfrRetry=4',
    'databasketId=bench.tcia',
    'manifestVersion=3.0',
    'ListOfSeriesToDownload=',
  ];
  await writeFile(path, `${[...header, ...uids].join('\n')}\n`);
}

async function startEmulators(setup: RunSetup, withIdc: boolean): Promise<{ nbia: EmulatorProcess; xnat: EmulatorProcess; idc?: EmulatorProcess }> {
  const cap = setup.capMBps > 0 ? setup.capMBps * 1e6 : undefined;
  const [nbia, xnat, idc] = await Promise.all([
    EmulatorProcess.start(
      {
        kind: 'nbia',
        options: {
          collection: setup.dataset.collection,
          bytesPerSecond: setup.capMBps > 0 ? setup.capMBps * 1e6 : undefined,
          deflateLevel: setup.deflateLevel,
          zipCacheDir: setup.dataset.zipStore,
        },
      },
      setup.profileDir,
    ),
    EmulatorProcess.start(
      {
        kind: 'xnat',
        options: {
          users: [{ username: USER, password: PASS, admin: true }],
          projects: [
            { id: TOOL_PROJECT, owners: [USER] },
            { id: BASE_PROJECT, owners: [USER] },
          ],
        },
      },
      setup.profileDir,
    ),
    // The same cap per connection as NBIA's, on the bucket server (the index host is not capped: it is read once).
    withIdc ? EmulatorProcess.start({ kind: 'idc', options: { collection: setup.dataset.collection, bytesPerSecond: cap, objectCacheDir: setup.dataset.idcStore } }, setup.profileDir) : undefined,
  ]);
  return { nbia, xnat, idc };
}

/** Runs one side (tool or baseline) against fresh emulators, so every run starts with an empty XNAT. */
export async function measureRun(who: Side, setup: RunSetup): Promise<RunResult> {
  const { nbia, xnat, idc } = await startEmulators(setup, who === 'tool-idc');
  try {
    const sourceCpu = (): number => nbia.cpuSeconds() + (idc?.cpuSeconds() ?? 0);
    const nbiaBefore = sourceCpu();
    const xnatBefore = xnat.cpuSeconds();
    const machineBefore = machineBusySeconds();
    const { cost, transferSeconds, memory } = who === 'baseline' ? await baselineRun(setup, nbia.url, xnat.url) : await toolRun(setup, nbia.url, xnat.url, idc?.url);
    const machineCpuSeconds = machineBusySeconds() - machineBefore;
    const nbiaCpuSeconds = sourceCpu() - nbiaBefore;
    const xnatCpuSeconds = xnat.cpuSeconds() - xnatBefore;
    const held = await xnat.holdings(who === 'baseline' ? BASE_PROJECT : TOOL_PROJECT);
    const got = who === 'baseline' ? held.prearchive : held.archived;
    const { images, bytes, collection } = setup.dataset;
    let problem = '';
    if (cost.exitCode !== 0) problem = `exit code ${cost.exitCode}`;
    else if (got.files !== images || got.bytes !== bytes) problem = `XNAT holds ${got.files}/${images} files, ${got.bytes}/${bytes} bytes`;
    return {
      pass: setup.pass,
      dataset: setup.dataset.name,
      capMBps: setup.capMBps,
      who,
      concurrency: setup.concurrency,
      cost,
      transferSeconds,
      nbiaCpuSeconds,
      xnatCpuSeconds,
      machineCpuSeconds,
      series: collection.length,
      files: images,
      bytes,
      problem,
      profileDir: setup.profileDir,
      memory,
    };
  } finally {
    await Promise.all([nbia.close(), xnat.close(), idc?.close()]);
  }
}

/** Every series from NBIA, unless an IDC emulator is given: then every series from it (--source idc). */
function toolEnv(nbiaUrl: string, xnatUrl: string, idcUrl?: string): NodeJS.ProcessEnv {
  const source = idcUrl ? { XTD_SOURCE: 'idc', IDC_INDEX: `${idcUrl}/${INDEX_BUCKET}/${INDEX_KEY}`, IDC_ENDPOINT: idcUrl } : { XTD_SOURCE: 'nbia' };
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', XNAT_HOST: xnatUrl, XNAT_USER: USER, XNAT_PASS: PASS, TCIA_URL: nbiaUrl, ...source };
}

/** Node flags for a profiled tool. Node 20 refuses --cpu-prof in NODE_OPTIONS, so they go on the command line. */
function profileFlags(dir: string | undefined, name: string): string[] {
  return dir ? ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-name', `${name}.cpuprofile`] : [];
}

async function toolRun(setup: RunSetup, nbiaUrl: string, xnatUrl: string, idcUrl?: string): Promise<{ cost: ProcessCost; transferSeconds: number; memory?: MemoryBreakdown }> {
  const out = join(setup.workDir, `tool${idcUrl ? '-idc' : ''}-${setup.dataset.name}-cap${setup.capMBps}-c${setup.concurrency}`);
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  const memoryFile = setup.profileDir ? join(setup.profileDir, 'memory.json') : undefined;
  const args = [
    ...cliNodeFlags(),
    ...profileFlags(setup.profileDir, 'tool'),
    ...(memoryFile ? ['--import', MEMORY_PROBE] : []),
    CLI, 'import', setup.dataset.manifestPath,
    '--project', TOOL_PROJECT,
    '--concurrency', String(setup.concurrency),
    '--progress', 'off',
    '--output-dir', out,
  ];
  const env = { ...toolEnv(nbiaUrl, xnatUrl, idcUrl), ...(memoryFile ? { BENCH_MEMORY_OUT: memoryFile } : {}) };
  const [command, commandArgs] = setup.perfFile ? ['perf', [...perfRecordArgs(setup.perfFile), process.execPath, ...args]] : [process.execPath, args];
  const cost = await runMeasured(command, commandArgs, { env, logFile: join(out, 'stdout.log') });
  const memory = memoryFile ? ((await readFile(memoryFile, 'utf8').then(JSON.parse, () => undefined)) as MemoryBreakdown | undefined) : undefined;
  let transferSeconds = NaN;
  try {
    transferSeconds = (JSON.parse(await readFile(join(out, 'latest', 'report.json'), 'utf8')) as { totals: { seconds: number } }).totals.seconds;
  } catch {
    // no report: the run failed, which the exit code already says
  }
  return { cost, transferSeconds, memory };
}

async function baselineRun(setup: RunSetup, nbiaUrl: string, xnatUrl: string): Promise<{ cost: ProcessCost; transferSeconds: number; memory?: MemoryBreakdown }> {
  const jobs = setup.dataset.collection.map((s) => ({ seriesUid: s.seriesUid, subject: s.patientId, session: `${s.patientId}_S${s.seriesNumber}` }));
  const target = { nbiaUrl, xnatUrl, user: USER, pass: PASS, project: BASE_PROJECT };
  const { cost } = await measureSelf(() => runBaseline(jobs, target, setup.concurrency));
  return { cost, transferSeconds: cost.wallSeconds };
}

/**
 * The planning benchmark: `--dry-run` of a large manifest (metadata for every series plus the XNAT lookup). With
 * `idcIndexFile`, also the IDC index lookup (--source auto), that file served over HTTP by the IDC emulator with a
 * cold cache, as a first run reads it.
 */
export async function planningRun(manifestPath: string, workDir: string, idcIndexFile?: string): Promise<{ cost: ProcessCost; series: number; problem: string }> {
  const nbia = await EmulatorProcess.start({ kind: 'nbia', options: { shape: { modalities: ['MG'], imagesPerSeries: [1, 90], rows: 64, columns: 64 } } });
  const xnat = await EmulatorProcess.start({ kind: 'xnat', options: { users: [{ username: USER, password: PASS, admin: true }], projects: [{ id: TOOL_PROJECT, owners: [USER] }] } });
  const idc = idcIndexFile ? await EmulatorProcess.start({ kind: 'idc', options: { collection: [], indexFile: idcIndexFile } }) : undefined;
  try {
    const out = join(workDir, idc ? 'planning-idc' : 'planning');
    await rm(out, { recursive: true, force: true });
    await mkdir(out, { recursive: true });
    const args = [...cliNodeFlags(), CLI, 'import', manifestPath, '--project', TOOL_PROJECT, '--dry-run', '--progress', 'off', '--output-dir', out];
    const env = { ...toolEnv(nbia.url, xnat.url, idc?.url), ...(idc ? { XTD_SOURCE: 'auto' } : {}) };
    const cost = await runMeasured(process.execPath, args, { env, logFile: join(out, 'stdout.log') });
    const report = JSON.parse(await readFile(join(out, 'latest', 'report.json'), 'utf8')) as { series: { status: string; source?: string }[] };
    const planned = report.series.filter((s) => s.status === 'planned').length;
    const fromIdc = report.series.filter((s) => s.source === 'idc').length;
    let problem = cost.exitCode !== 0 ? `exit code ${cost.exitCode}` : planned !== report.series.length ? `${report.series.length - planned} series not planned` : '';
    if (!problem && idc && fromIdc !== report.series.length) problem = `${report.series.length - fromIdc} series not routed to IDC`;
    return { cost, series: report.series.length, problem };
  } finally {
    await Promise.all([nbia.close(), xnat.close(), idc?.close()]);
  }
}

/** Runs scripts/bench-verify.ts pinned to one core; with `profileFile` its measured rounds are also CPU-profiled. */
export async function verifyRun(images: number, rows: number, level: number, rounds: number, options: { relay?: VerifyRelay; pixels?: string; profileFile?: string } = {}): Promise<VerifyResult> {
  const script = resolve('scripts', 'bench-verify.ts');
  const { relay = 'tool', pixels = 'default', profileFile } = options;
  const node = ['--import', 'tsx', script, '--images', String(images), '--rows', String(rows), '--level', String(level), '--rounds', String(rounds), '--relay', relay, '--pixels', pixels, ...(profileFile ? ['--profile', profileFile] : [])];
  // taskset keeps the libuv pool on the same core, so "one core" includes the zlib work done off the main thread.
  const pinned = await hasTaskset();
  const [command, args] = pinned ? ['taskset', ['-c', '0', process.execPath, ...node]] : [process.execPath, node];
  const output = await new Promise<string>((resolveOutput, reject) => {
    const child = spawn(command, args as string[], { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolveOutput(text) : reject(new Error(`bench-verify exited with ${code}`))));
  });
  return { ...(JSON.parse(output.trim().split('\n').pop() ?? '{}') as VerifyResult), pinned };
}

let taskset: boolean | undefined;
async function hasTaskset(): Promise<boolean> {
  taskset ??= await new Promise<boolean>((done) => {
    const child = spawn('taskset', ['-c', '0', 'true'], { stdio: 'ignore' });
    child.on('error', () => done(false));
    child.on('close', (code) => done(code === 0));
  });
  return taskset;
}

/**
 * The .cpuprofile a profiled run left behind for each process: `<dir>/tool.cpuprofile`, and for each emulator the
 * largest file in `<dir>/<kind>/` (its main thread; the smaller one is tsx's loader thread).
 */
export async function profilesIn(dir: string): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const path = join(dir, name);
    if (name.endsWith('.cpuprofile')) {
      found.set(name.replace(/\.cpuprofile$/, ''), path);
      continue;
    }
    const files = (await readdir(path).catch(() => [] as string[])).filter((f) => f.endsWith('.cpuprofile'));
    const sized = await Promise.all(files.map(async (f) => ({ file: join(path, f), size: (await stat(join(path, f))).size })));
    const largest = sized.sort((a, b) => b.size - a.size)[0];
    if (largest) found.set(name, largest.file);
  }
  return found;
}
