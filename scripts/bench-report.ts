/** The results of `npm run bench`, their tables and the target checks (scripts/bench-doc.ts writes them out). */
import type { CpuKindsRun } from './bench-cpu-kinds.js';
import type { ScaleRun } from './bench-scale.js';
import type { ProcessCost } from './bench-measure.js';
import type { ProfileSummary } from './bench-profile.js';
import type { RunResult } from './bench-runs.js';
import type { VerifyResult } from './bench-verify.js';
import type { IndexFormat } from './bench-idc-index-data.js';

export const MB = 1e6;

/** Everything one `npm run bench` measured. */
export interface BenchResults {
  preset: string;
  command: string;
  startedAt: string;
  minutes: number;
  machine: { cpu: string; cores: number; memoryGB: number; node: string; kernel: string };
  loadBefore: number;
  loadAfter: number;
  dataset: { series: number; images: number; rows: number; bytes: number };
  deflateLevel: number;
  levelNote: string;
  runs: RunResult[];
  profiles: { title: string; summary: ProfileSummary }[];
  /** The profiled tool run (its memory breakdown is reported with the profile). */
  profiled?: RunResult;
  single?: RunResult;
  planning?: { cost: ProcessCost; series: number; problem: string; manifest: string };
  /** The same manifest planned against a large IDC index (--source auto), once for each writer's layout. */
  planningIdc: { cost: ProcessCost; series: number; problem: string; manifest: string; indexRows: number; indexBytes: number; format: IndexFormat }[];
  /** The verify micro-benchmark: the floor at each ratio, the tool's relay and the prototype at 2.5:1. */
  verify: ProfiledVerify[];
  /** Short runs of one image per series: what a run costs whatever its size. */
  fixedCost: RunResult[];
  /** Runs recorded with perf, by kind of work (scripts/bench-cpu-kinds.ts). */
  cpuKinds: CpuKindsRun[];
  /** The main size against SCALE times it (scripts/bench-scale.ts). */
  scale: ScaleRun[];
}

/** One target: what it asks, what was measured, and whether that meets it. */
export interface TargetCheck {
  target: string;
  measured: string;
  met: boolean | undefined;
}

export function rate(run: RunResult): number {
  return run.bytes / MB / run.cost.wallSeconds;
}

/** MB/s over the tool's transfer phase only (the baseline's wall time is all transfer). */
export function transferRate(run: RunResult): number {
  return run.bytes / MB / run.transferSeconds;
}

export function fixed(value: number, digits = 1): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '–';
}

/** Every run, one row each. */
export function runTable(runs: RunResult[], cores: number): string {
  const head = '| pass | side | c | wall s | MB/s | transfer MB/s | series/s | peak RSS MB | CPU s | CPU s per GB | source emu CPU s | XNAT emu CPU s | other CPU s | machine busy | check |';
  // "baseline" is the raw pipe.
  const rows = runs.map((r) => {
    const own = r.cost.cpuSeconds + r.nbiaCpuSeconds + r.xnatCpuSeconds;
    const busy = (100 * r.machineCpuSeconds) / (r.cost.wallSeconds * cores);
    return `| ${r.pass} | ${r.who} | ${r.concurrency} | ${fixed(r.cost.wallSeconds)} | ${fixed(rate(r))} | ${fixed(transferRate(r))} | ${fixed(r.series / r.cost.wallSeconds, 2)} | ${fixed(r.cost.peakRssMB, 0)} | ${fixed(r.cost.cpuSeconds)} | ${fixed(cpuPerGB(r))} | ${fixed(r.nbiaCpuSeconds)} | ${fixed(r.xnatCpuSeconds)} | ${fixed(Math.max(0, r.machineCpuSeconds - own))} | ${fixed(busy, 0)} % | ${r.problem || 'ok'} |`;
  });
  return [head, `|${'---|'.repeat(15)}`, ...rows].join('\n');
}

/** The run of one side at one concurrency in a pass, unless it failed its check. */
export function find(runs: RunResult[], pass: string, who: RunResult['who'], c: number): RunResult | undefined {
  return runs.find((r) => r.pass === pass && r.who === who && r.concurrency === c && !r.problem);
}

/** The passes in the order they ran, each with its concurrency levels. */
function passes(all: RunResult[]): { pass: string; capped: boolean; levels: number[] }[] {
  // The IDC runs have no raw pipe of their own; sourceTable sets them beside the NBIA runs.
  const runs = all.filter((r) => r.who !== 'tool-idc');
  return [...new Set(runs.map((r) => r.pass))].map((pass) => {
    const mine = runs.filter((r) => r.pass === pass);
    return { pass, capped: (mine[0]?.capMBps ?? 0) > 0, levels: [...new Set(mine.map((r) => r.concurrency))].sort((a, b) => a - b) };
  });
}

/** Tool against baseline at equal concurrency, and each against its own concurrency 1. */
export function ratioTable(runs: RunResult[]): string {
  const lines = [
    '| pass | c | tool MB/s | baseline MB/s | tool / baseline | tool / baseline, transfer phase | tool speed-up over c=1 | baseline speed-up over c=1 |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const { pass, levels } of passes(runs)) {
    const tool1 = find(runs, pass, 'tool', levels[0] ?? 1);
    const base1 = find(runs, pass, 'baseline', levels[0] ?? 1);
    for (const c of levels) {
      const tool = find(runs, pass, 'tool', c);
      const base = find(runs, pass, 'baseline', c);
      const ratio = tool && base ? rate(tool) / rate(base) : NaN;
      const phase = tool && base ? transferRate(tool) / rate(base) : NaN;
      const toolUp = tool && tool1 ? rate(tool) / rate(tool1) : NaN;
      const baseUp = base && base1 ? rate(base) / rate(base1) : NaN;
      lines.push(`| ${pass} | ${c} | ${tool ? fixed(rate(tool)) : '–'} | ${base ? fixed(rate(base)) : '–'} | ${fixed(ratio, 2)} | ${fixed(phase, 2)} | ${fixed(toolUp, 2)}× | ${fixed(baseUp, 2)}× |`);
    }
  }
  return lines.join('\n');
}

/** The tool with every series from IDC's buckets beside the same tool on NBIA, at equal caps per connection. */
export function sourceTable(runs: RunResult[]): string {
  const idcRuns = runs.filter((r) => r.who === 'tool-idc' && !r.problem);
  if (idcRuns.length === 0) return '';
  const lines = [
    '| data | c | NBIA MB/s | IDC MB/s | IDC / NBIA | NBIA CPU s per GB | IDC CPU s per GB | NBIA peak RSS MB | IDC peak RSS MB |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const idc of idcRuns) {
    const nbia = runs.find((r) => r.who === 'tool' && r.dataset === idc.dataset && r.capMBps === idc.capMBps && r.concurrency === idc.concurrency && !r.problem);
    const n = (f: (r: RunResult) => number, digits = 1): string => (nbia ? fixed(f(nbia), digits) : '–');
    lines.push(`| ${idc.dataset} | ${idc.concurrency} | ${n(rate)} | ${fixed(rate(idc))} | ${nbia ? fixed(rate(idc) / rate(nbia), 2) : '–'} | ${n(cpuPerGB)} | ${fixed(cpuPerGB(idc))} | ${n((r) => r.cost.peakRssMB, 0)} | ${fixed(idc.cost.peakRssMB, 0)} |`);
  }
  return lines.join('\n');
}

/** The middle value (the upper one of an even count), NaN for none. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

/** A verify result, with the V8 profile of the relay where one was taken. */
export type ProfiledVerify = VerifyResult & { profile?: ProfileSummary };

/** Median MB/s of the verify rounds (DICOM bytes per wall second, one core), and the CPU seconds per GB that gives. */
export function verifyRate(verify: Pick<VerifyResult, 'rounds'>): { wall: number; perCpu: number; cpuPerGB: number } {
  const perCpu = median(verify.rounds.map((r) => r.bytes / MB / r.cpuSeconds));
  return { wall: median(verify.rounds.map((r) => r.bytes / MB / r.seconds)), perCpu, cpuPerGB: 1000 / perCpu };
}

/** CPU seconds per GB of DICOM. */
export function cpuPerGB(run: RunResult): number {
  return run.cost.cpuSeconds / (run.bytes / 1e9);
}

/**
 * The verify floor's CPU seconds per GB for a pixel fill, measured in the same run: the median round of both sittings
 * (the start of the bench and its end; src: scripts/bench-verify-step.ts).
 */
export function floorCpuPerGB(results: BenchResults, pixels: string): number {
  const rounds = results.verify.filter((v) => v.relay === 'floor' && v.pixels === pixels).flatMap((v) => v.rounds);
  return rounds.length > 0 ? verifyRate({ rounds }).cpuPerGB : NaN;
}

/** Checks every target of issue 10 against what was measured. */
export function checkTargets(results: BenchResults): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const { pass, levels } of passes(results.runs)) {
    for (const c of levels) {
      const tool = find(results.runs, pass, 'tool', c);
      const base = find(results.runs, pass, 'baseline', c);
      const ratio = tool && base ? rate(tool) / rate(base) : NaN;
      checks.push({ target: `${pass}, c=${c}: tool ≥ 0.9 × raw pipe`, measured: `${fixed(ratio, 2)} × (${tool ? fixed(rate(tool)) : '–'} vs ${base ? fixed(rate(base)) : '–'} MB/s)`, met: Number.isFinite(ratio) ? ratio >= 0.9 : undefined });
    }
    const floor = floorCpuPerGB(results, pass.split(',')[0] ?? '');
    for (const c of levels) {
      const tool = find(results.runs, pass, 'tool', c);
      const perGB = tool ? cpuPerGB(tool) : NaN;
      // Judged against both the floor measured just before the run (the machine's speed drifts) and the bench-wide
      // one: a floor read in a slow moment must not pass a run by itself.
      const near = tool?.floorCpuPerGB;
      const f = Math.min(near ?? floor, Number.isFinite(floor) ? floor : Infinity);
      const measured = near
        ? `${fixed(perGB)} vs floor ${fixed(near, 2)} just before the run (${fixed(perGB / near, 2)} ×); bench floor ${fixed(floor, 2)} (${fixed(perGB / floor, 2)} ×)`
        : `${fixed(perGB)} vs floor ${fixed(floor, 2)} (${fixed(perGB / floor, 1)} ×)`;
      checks.push({ target: `${pass}, c=${c}: tool CPU s per GB ≤ 2 × verify floor`, measured, met: Number.isFinite(perGB / f) ? perGB <= 2 * f : undefined });
    }
  }
  const toolRuns = results.runs.filter((r) => r.who !== 'baseline');
  if (results.single) toolRuns.push(results.single);
  if (toolRuns.length > 0) {
    const worst = toolRuns.reduce((a, b) => (b.cost.peakRssMB > a.cost.peakRssMB ? b : a));
    checks.push({ target: 'tool peak RSS ≤ 200 MB in every run', measured: `max ${fixed(worst.cost.peakRssMB, 0)} MB (${worst.pass}, c=${worst.concurrency})`, met: worst.cost.peakRssMB <= 200 });
  }
  if (results.single) {
    const s = results.single;
    checks.push({ target: `single ${fixed(s.bytes / 1e9, 2)} GB series: peak RSS ≤ 200 MB`, measured: s.problem ? s.problem : `${fixed(s.cost.peakRssMB, 0)} MB`, met: s.problem ? false : s.cost.peakRssMB <= 200 });
  }
  const verify = results.verify.find((v) => v.relay === 'tool' && v.pixels === 'ct');
  if (verify) {
    const v = verifyRate(verify);
    checks.push({ target: `verification by the tool ≥ 150 MB/s on one core, input deflated ${fixed(verify.dicomBytes / verify.zipBytes, 2)}:1`, measured: `${fixed(v.wall, 0)} MB/s (${fixed(v.perCpu, 0)} MB per CPU-second)`, met: v.wall >= 150 });
  }
  if (results.planning) {
    const p = results.planning;
    checks.push({ target: `planning ${p.series} series (--dry-run) ≤ 30 s`, measured: p.problem || `${fixed(p.cost.wallSeconds)} s`, met: !p.problem && p.cost.wallSeconds <= 30 });
    checks.push({ target: 'planning peak RSS ≤ 300 MB', measured: `${fixed(p.cost.peakRssMB, 0)} MB`, met: !p.problem && p.cost.peakRssMB <= 300 });
  }
  for (const p of results.planningIdc) {
    checks.push({ target: `planning ${p.series} series against a ${p.indexRows}-row IDC index as ${p.format} writes it ≤ 30 s`, measured: p.problem || `${fixed(p.cost.wallSeconds)} s`, met: !p.problem && p.cost.wallSeconds <= 30 });
    checks.push({ target: `planning against the IDC index as ${p.format} writes it: peak RSS ≤ 300 MB`, measured: `${fixed(p.cost.peakRssMB, 0)} MB`, met: !p.problem && p.cost.peakRssMB <= 300 });
  }
  return checks;
}

export function targetTable(checks: TargetCheck[]): string {
  const lines = ['| target | measured | met |', '|---|---|---|'];
  for (const c of checks) lines.push(`| ${c.target} | ${c.measured} | ${c.met === undefined ? 'not measured' : c.met ? 'yes' : '**no**'} |`);
  return lines.join('\n');
}
