/** Process measurements for the benchmark: wall time, CPU time and peak RSS of a child or of this process. */
import { spawn } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { cpuSecondsOf, TICKS_PER_SECOND } from '../emulators/process.js';

/** What one measured process cost. */
export interface ProcessCost {
  wallSeconds: number;
  /** User + system CPU seconds, all threads (zlib and crypto work on the libuv pool included). */
  cpuSeconds: number;
  /** Peak resident set size in MB (1 MB = 2^20 bytes), from the kernel's high-water mark. */
  peakRssMB: number;
  exitCode: number | null;
  /** How the numbers were taken, for the report. */
  method: 'wait4' | 'proc-poll' | 'self';
}

const GNU_TIME = '/usr/bin/time';

/** A run that takes longer than this is killed (and reported by its exit code) rather than hanging the bench. */
const DEFAULT_TIMEOUT_MS = 30 * 60_000;

/**
 * Runs a command to completion and measures it. With GNU time the numbers come from wait4(2), so they are exact
 * and include the last instant before exit; without it /proc/<pid> is polled every 50 ms.
 */
export async function runMeasured(command: string, args: string[], options: { env: NodeJS.ProcessEnv; logFile: string; timeoutMs?: number }): Promise<ProcessCost> {
  const out = openSync(options.logFile, 'w');
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  try {
    if (existsSync(GNU_TIME)) return await viaGnuTime(command, args, options.env, out, `${options.logFile}.time`, timeoutMs);
    return await viaProcPoll(command, args, options.env, out, timeoutMs);
  } finally {
    closeSync(out);
  }
}

/** Kills a process and its direct children (GNU time's child is the real work). */
function killTree(pid: number | undefined): void {
  if (pid === undefined) return;
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    // already gone, or no /proc: the parent alone
  }
  for (const target of [...children, pid]) {
    try {
      process.kill(target, 'SIGKILL');
    } catch {
      // exited meanwhile
    }
  }
}

async function viaGnuTime(command: string, args: string[], env: NodeJS.ProcessEnv, out: number, timeFile: string, timeoutMs: number): Promise<ProcessCost> {
  const started = process.hrtime.bigint();
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(GNU_TIME, ['-f', '%e %U %S %M', '-o', timeFile, command, ...args], { env, stdio: ['ignore', out, out] });
    const timer = setTimeout(() => killTree(child.pid), timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
  const wall = Number(process.hrtime.bigint() - started) / 1e9;
  const fields = (await readFile(timeFile, 'utf8')).trim().split('\n').pop()?.split(/\s+/).map(Number) ?? [];
  const [, user = 0, system = 0, maxKb = 0] = fields;
  return { wallSeconds: wall, cpuSeconds: user + system, peakRssMB: maxKb / 1024, exitCode, method: 'wait4' };
}

async function viaProcPoll(command: string, args: string[], env: NodeJS.ProcessEnv, out: number, timeoutMs: number): Promise<ProcessCost> {
  const started = process.hrtime.bigint();
  let peakKb = 0;
  let cpu = 0;
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', out, out] });
    const sample = (): void => {
      if (child.pid === undefined) return;
      peakKb = Math.max(peakKb, statusKb(child.pid, 'VmHWM'));
      cpu = Math.max(cpu, cpuSecondsOf(child.pid));
    };
    const timer = setInterval(sample, 50);
    const deadline = setTimeout(() => killTree(child.pid), timeoutMs);
    child.on('error', (error) => {
      clearInterval(timer);
      clearTimeout(deadline);
      reject(error);
    });
    child.on('exit', (code) => {
      clearInterval(timer);
      clearTimeout(deadline);
      resolve(code);
    });
  });
  const wall = Number(process.hrtime.bigint() - started) / 1e9;
  return { wallSeconds: wall, cpuSeconds: cpu, peakRssMB: peakKb / 1024, exitCode, method: 'proc-poll' };
}

/** A field of /proc/<pid>/status in kB, or 0 once the process is gone. */
export function statusKb(pid: number | 'self', field: 'VmHWM' | 'VmRSS'): number {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

/**
 * Measures work done inside this process: CPU from process.cpuUsage (all threads) and the peak RSS since the
 * start, after resetting the kernel's high-water mark through /proc/self/clear_refs where that is allowed.
 */
export async function measureSelf<T>(work: () => Promise<T>): Promise<{ cost: ProcessCost; result: T }> {
  let reset = false;
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    reset = true;
  } catch {
    // Without the reset the figure is the process's lifetime peak, which only over-states the baseline.
  }
  let peakKb = statusKb('self', 'VmRSS');
  const timer = setInterval(() => (peakKb = Math.max(peakKb, statusKb('self', 'VmRSS'))), 50);
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  try {
    const result = await work();
    const wall = Number(process.hrtime.bigint() - started) / 1e9;
    const used = process.cpuUsage(cpu);
    if (reset) peakKb = Math.max(peakKb, statusKb('self', 'VmHWM'));
    return { cost: { wallSeconds: wall, cpuSeconds: (used.user + used.system) / 1e6, peakRssMB: peakKb / 1024, exitCode: 0, method: 'self' }, result };
  } finally {
    clearInterval(timer);
  }
}

/** One line about the machine: CPU model, cores, memory, Node and kernel. */
export function describeMachine(): { cpu: string; cores: number; memoryGB: number; node: string; kernel: string } {
  const list = cpus();
  let kernel = '';
  try {
    kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  } catch {
    kernel = process.platform;
  }
  const model = list[0]?.model?.trim() || 'unknown';
  // Virtual machines often report a bare family name ("AMD EPYC"), so the clock is added when known.
  const mhz = list[0]?.speed;
  let cpu = mhz ? `${model} @ ${(mhz / 1000).toFixed(2)} GHz` : model;
  try {
    if (/^flags\s*:.*\bhypervisor\b/m.test(readFileSync('/proc/cpuinfo', 'utf8'))) cpu += ' (virtual machine)';
  } catch {
    // not Linux: the model alone
  }
  return { cpu, cores: list.length, memoryGB: Math.round((totalmem() / 2 ** 30) * 10) / 10, node: process.version, kernel };
}

/** CPU seconds the whole machine has spent busy since boot (every core, every process), from /proc/stat. */
export function machineBusySeconds(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    // cpu user nice system idle iowait irq softirq steal ...: busy is everything but idle and iowait.
    const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
    return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** The 1-minute load average, or 0 where /proc/loadavg does not exist. */
export function loadAverage(): number {
  try {
    return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  } catch {
    return 0;
  }
}

/**
 * Runs `main` with the file argument when this module is the script node was started with (`tsx scripts/x.ts <file>
 * [extra]`), or prints the usage line and sets exit code 2 when the file is missing.
 */
export async function whenRunAsScript(moduleUrl: string, usage: string, main: (file: string, extra: string | undefined) => Promise<void>): Promise<void> {
  const script = process.argv[1];
  if (!script || !moduleUrl.endsWith(script.replace(/^.*\//, '/'))) return;
  const file = process.argv[2];
  if (!file) {
    console.error(`usage: ${usage}`);
    process.exitCode = 2;
    return;
  }
  await main(file, process.argv[3]);
}
