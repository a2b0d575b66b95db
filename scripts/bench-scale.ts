/**
 * CPU per GB against the size of a run. The bench's collection (24 series × 100 images, 1.26 GB) is small enough
 * that what a run pays once weighs on its CPU per GB: start-up, a few requests and a commit per series, and the JIT
 * compiling the data path while it runs slowly. Measuring the same series at SCALE times the images, back to back
 * with the main size, separates the two: their difference is what each further GB costs.
 */
import { measureRun, type Dataset, type RunResult, type RunSetup } from './bench-runs.js';

/** The larger run has this many times the images per series. */
export const SCALE = 3;

/** One ratio at the main size and at SCALE times it. */
export interface ScaleRun {
  ratio: string;
  small: RunResult;
  large: RunResult;
}

/** One run of each size per ratio, the main size first. */
export async function measureScale(
  ratios: string[],
  sizes: { small: (ratio: string) => Dataset; large: (ratio: string) => Promise<Dataset> },
  setup: Omit<RunSetup, 'pass' | 'dataset'>,
  say: (line: string) => void,
): Promise<ScaleRun[]> {
  const out: ScaleRun[] = [];
  for (const ratio of ratios) {
    const small = await measureRun('tool', { ...setup, pass: `scale 1×, ${ratio}`, dataset: sizes.small(ratio) });
    const large = await measureRun('tool', { ...setup, pass: `scale ${SCALE}×, ${ratio}`, dataset: await sizes.large(ratio) });
    const run = { ratio, small, large };
    out.push(run);
    const m = marginal(run);
    say(`  ${ratio}: ${perGB(small).toFixed(2)} CPU s per GB at ${gb(small).toFixed(2)} GB, ${perGB(large).toFixed(2)} at ${gb(large).toFixed(2)} GB; a further GB ${m.perGB.toFixed(2)}, once per run ${m.once.toFixed(2)} CPU s${small.problem || large.problem ? `  PROBLEM: ${small.problem || large.problem}` : ''}`);
  }
  return out;
}

const gb = (r: RunResult): number => r.bytes / 1e9;
const perGB = (r: RunResult): number => r.cost.cpuSeconds / gb(r);

/** What a further GB costs (the slope between the two sizes) and what is left of the small run (its intercept). */
export function marginal(run: ScaleRun): { perGB: number; once: number } {
  const slope = (run.large.cost.cpuSeconds - run.small.cost.cpuSeconds) / (gb(run.large) - gb(run.small));
  return { perGB: slope, once: run.small.cost.cpuSeconds - slope * gb(run.small) };
}

/** The docs/benchmarks.md section; `floor` gives the verify floor (CPU s per GB) measured in the same bench. */
export function scaleSection(runs: ScaleRun[], floor: (ratio: string) => number): string[] {
  if (runs.length === 0) return [];
  const first = runs[0] as ScaleRun;
  const lines = [
    '',
    '## CPU per GB by the size of a run',
    '',
    `The tool on the same ${first.small.series} series at ${first.small.files / first.small.series} and ${first.large.files / first.large.series} images each, c=${first.small.concurrency}, ${first.small.capMBps ? `capped ${first.small.capMBps} MB/s per connection` : 'uncapped'}, one run of each size, back to back. "a further GB" is the difference between the two runs per GB of difference; "once per run" is what is left of the smaller run: start-up, the requests and commit of each series, and the JIT compiling the data path while it runs slowly.`,
    '',
    '| ratio | GB | CPU s | CPU s per GB | × floor | a further GB: CPU s (× floor) | once per run: CPU s |',
    '|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const run of runs) {
    const f = floor(run.ratio);
    const m = marginal(run);
    const times = (x: number): string => (Number.isFinite(x / f) ? (x / f).toFixed(2) : '–');
    lines.push(`| ${run.ratio} | ${gb(run.small).toFixed(2)} | ${run.small.cost.cpuSeconds.toFixed(2)} | ${perGB(run.small).toFixed(2)} | ${times(perGB(run.small))} | ${m.perGB.toFixed(2)} (${times(m.perGB)}) | ${m.once.toFixed(2)} |`);
    lines.push(`| ${run.ratio}, ${SCALE}× | ${gb(run.large).toFixed(2)} | ${run.large.cost.cpuSeconds.toFixed(2)} | ${perGB(run.large).toFixed(2)} | ${times(perGB(run.large))} | | |`);
  }
  return lines;
}
