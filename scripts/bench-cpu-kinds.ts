/**
 * Where a process's CPU went, by kind of work, from `perf record -g` samples of every thread (Linux perf). The V8
 * profile (bench-profile.ts) sees only the main thread and counts a sample's wall time, so a syscall that wakes
 * another process is charged for the time the tool waited for a core; perf samples CPU time only, in all threads,
 * the kernel's share included. Optional: without a working perf the bench skips this table.
 */
import { spawn, spawnSync } from 'node:child_process';
import { basename } from 'node:path';
import { createInterface } from 'node:readline';
import { whenRunAsScript } from './bench-measure.js';
import type { RunResult } from './bench-runs.js';

/** One kind of work and its share of the samples. */
export interface CpuKind {
  kind: string;
  samples: number;
  percent: number;
}

export interface CpuKinds {
  samples: number;
  kinds: CpuKind[];
}

/** Samples per second of CPU time; enough for a few thousand samples in a run of some seconds. */
const FREQUENCY = 999;

/** Whether `perf record` works here (installed, and allowed to sample a child process). */
export function perfWorks(): boolean {
  const probe = spawnSync('perf', ['record', '-q', '-o', '/dev/null', '--', 'true'], { stdio: 'ignore' });
  return probe.status === 0;
}

/** The arguments of `perf` that record the command after them, with call graphs, into `file`. */
export function perfRecordArgs(file: string): string[] {
  return ['record', '-q', '-F', String(FREQUENCY), '-g', '-o', file, '--'];
}

const SYSCALL_KINDS: [RegExp, string][] = [
  [/ksys_read|sys_read\b|sys_recvfrom/, 'kernel: socket reads'],
  [/do_writev|ksys_write|sys_sendto/, 'kernel: socket writes (on loopback they also run the receiver side)'],
  [/epoll/, 'kernel: waiting for events (epoll)'],
  [/exc_page_fault/, 'kernel: page faults'],
];

/** The kind of one sample, from its frames (leaf first) and whether it ran on the main thread. */
export function kindOf(frames: readonly string[], mainThread: boolean): string {
  const leaf = frames[0] ?? '';
  if (frames.some((f) => /^(entry_SYSCALL|asm_exc_|asm_sysvec|asm_common_interrupt|irqentry|do_syscall_64)/.test(f))) {
    return SYSCALL_KINDS.find(([re]) => frames.some((f) => re.test(f)))?.[1] ?? 'kernel: interrupts, scheduling and other calls';
  }
  if (/^inflate|adler32/.test(leaf)) return 'inflate (zlib)';
  if (/md5/i.test(leaf)) return 'MD5 (OpenSSL)';
  if (/crc32/i.test(leaf)) return 'CRC-32 (@node-rs/crc32, or zlib where it is missing)';
  const near = frames.slice(0, 12);
  const thread = mainThread ? '' : ' (background threads)';
  if (near.some((f) => /compiler::|Compiler::|baseline::|CompileLazy|Maglev/.test(f))) return `V8 JIT compiler${thread}`;
  if (near.some((f) => /Scaveng|MarkCompact|Sweep|ConcurrentMarking|IncrementalMarking|Heap::|MinorMC|Evacuat/.test(f))) return `V8 garbage collector${thread}`;
  if (!mainThread) return 'other background work';
  if (/memmove|memcpy|memset/.test(leaf)) return 'memory copies (libc)';
  if (/malloc|_int_free|cfree|unlink_chunk|sysmalloc|malloc_consolidate|^free$/.test(leaf)) return 'malloc and free (libc)';
  return 'JavaScript and the V8 and Node runtime';
}

/**
 * A frame's symbol; a native module stripped of its symbols (the CRC-32 module's binary) is named by its file
 * instead, so its samples are not lost among the runtime's.
 */
function frameName(line: string): string {
  const frame = /^[0-9a-f]+\s+(.*?)(?:\s+\(([^()]*)\))?$/.exec(line);
  if (!frame) return line;
  const [, symbol = '', dso = ''] = frame;
  return symbol === '[unknown]' && dso ? `[unknown] in ${basename(dso)}` : symbol;
}

/** Reads `perf script` output of a recording and counts samples per kind; `pid` is the process whose main thread it is. */
export async function summarisePerf(file: string, pid?: number): Promise<CpuKinds> {
  const child = spawn('perf', ['script', '-i', file, '-F', 'pid,tid,ip,sym,dso'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const counts = new Map<string, number>();
  let samples = 0;
  let main = pid;
  let frames: string[] = [];
  let thread: { pid: number; tid: number } | undefined;
  const flush = (): void => {
    if (!thread) return;
    // Without a pid, the first process seen is the one measured (perf starts it).
    main ??= thread.pid;
    if (thread.pid === main) {
      const kind = kindOf(frames, thread.tid === main);
      counts.set(kind, (counts.get(kind) ?? 0) + 1);
      samples += 1;
    }
    frames = [];
    thread = undefined;
  };
  for await (const line of createInterface({ input: child.stdout })) {
    const head = /^\s*(\d+)\/(\d+)\s*$/.exec(line);
    if (head) {
      flush();
      thread = { pid: Number(head[1]), tid: Number(head[2]) };
    } else if (thread && line.trim()) {
      frames.push(frameName(line.trim()));
    }
  }
  flush();
  const kinds = [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([kind, n]) => ({ kind, samples: n, percent: samples > 0 ? (100 * n) / samples : 0 }));
  return { samples, kinds };
}

/** Markdown table of the kinds; CPU seconds are samples over the sampling rate. */
export function cpuKindsTable(summary: CpuKinds): string {
  const lines = ['| CPU % | CPU s | kind of work |', '|---:|---:|---|'];
  for (const k of summary.kinds) lines.push(`| ${k.percent.toFixed(1)} | ${(k.samples / FREQUENCY).toFixed(2)} | ${k.kind} |`);
  return lines.join('\n');
}

/** The kinds that make up the verify floor's own work: what the floor does to the same bytes, in the same calls. */
const FLOOR_KINDS = new Set(['inflate (zlib)', 'MD5 (OpenSSL)']);

/**
 * The run's own floor work (its inflate and MD5 samples) and the tool's samples over it: a floor measured in the
 * same run, on the same cores at the same moments, so a core that runs slow for a while (docs/benchmarks.md,
 * analysis) slows both sides alike.
 */
export function inRunFloor(summary: CpuKinds): { percent: number; times: number } {
  const floor = summary.kinds.filter((k) => FLOOR_KINDS.has(k.kind)).reduce((n, k) => n + k.samples, 0);
  return { percent: summary.samples > 0 ? (100 * floor) / summary.samples : 0, times: floor > 0 ? summary.samples / floor : NaN };
}

/** One perf-recorded run of the tool and what its samples say. */
export interface CpuKindsRun {
  title: string;
  run: RunResult;
  summary: CpuKinds;
}

/** The docs/benchmarks.md section: the run's fixed cost, then a table per recorded run. */
export function cpuKindsSection(recorded: CpuKindsRun[], fixedCost: RunResult[]): string[] {
  const parts: string[] = ['', "## Where the tool's CPU goes, by kind of work", ''];
  if (fixedCost.length > 0) {
    const cpu = fixedCost.map((r) => r.cost.cpuSeconds).sort((a, b) => a - b);
    const first = fixedCost[0] as RunResult;
    parts.push(
      `**Fixed cost of a run** (start-up, planning, login, commits, records): the tool on ${first.series} series of one image each, c=${first.concurrency}, ${cpu.length} runs: ` +
        `${cpu.map((c) => c.toFixed(2)).join(', ')} CPU s. It is paid once per run, whatever the bytes; the JIT compiler's work on the data path (below) comes on top, once per run too.`,
      '',
    );
  }
  if (recorded.length === 0) parts.push('(perf was not available: no table.)');
  for (const r of recorded) {
    const floor = inRunFloor(r.summary);
    parts.push(
      `### ${r.title}`,
      '',
      `${r.summary.samples} samples at ${FREQUENCY} Hz over every thread; the run took ${r.run.cost.cpuSeconds.toFixed(1)} CPU s with perf's own share. ` +
        `The floor's work inside the run (inflate and MD5: the calls the floor makes, on the same bytes) is ${floor.percent.toFixed(1)} % of the samples, ` +
        `so the tool spent **${floor.times.toFixed(2)} ×** its floor work, both measured on the same cores at the same moments.`,
      '',
      cpuKindsTable(r.summary),
      '',
    );
  }
  return parts;
}

// `tsx scripts/bench-cpu-kinds.ts <perf.data> [pid]` prints the table.
await whenRunAsScript(import.meta.url, 'tsx scripts/bench-cpu-kinds.ts <perf.data> [pid]', async (file, pid) => {
  const summary = await summarisePerf(file, pid ? Number(pid) : undefined);
  console.log(`${summary.samples} samples\n`);
  console.log(cpuKindsTable(summary));
});
