/**
 * What a tool run's CPU per GB is made of, from runs the bench has already made: the raw pipe moves the same bytes
 * over the same sockets and checks nothing, the fixed-cost runs give what a run costs whatever its size, and what is
 * left estimates the tool's own work on each byte, to set beside the verify floor (inflate and MD5 in native code).
 */
import { cpuPerGB, find, fixed, median, type BenchResults } from './bench-report.js';

interface CpuSplit {
  pass: string;
  concurrency: number;
  tool: number;
  rawPipe: number;
  /** The median fixed-cost run, spread over this run's GB. */
  fixedPerGB: number;
  /** The tool beyond the raw pipe and its own fixed cost: an estimate of its work on each byte. */
  perByte: number;
  floor: number;
}

/** One row per NBIA tool run that has a raw pipe at the same concurrency and a floor measured for it. */
function cpuSplits(results: BenchResults): CpuSplit[] {
  const fixedCpu = median(results.fixedCost.filter((r) => !r.problem).map((r) => r.cost.cpuSeconds));
  const splits: CpuSplit[] = [];
  for (const tool of results.runs.filter((r) => r.who === 'tool' && !r.problem && r.floorCpuPerGB)) {
    const raw = find(results.runs, tool.pass, 'baseline', tool.concurrency);
    if (!raw) continue;
    const fixedPerGB = fixedCpu / (tool.bytes / 1e9);
    const [toolPerGB, rawPerGB] = [cpuPerGB(tool), cpuPerGB(raw)];
    splits.push({
      pass: tool.pass,
      concurrency: tool.concurrency,
      tool: toolPerGB,
      rawPipe: rawPerGB,
      fixedPerGB,
      perByte: toolPerGB - rawPerGB - fixedPerGB,
      floor: tool.floorCpuPerGB ?? NaN,
    });
  }
  return splits;
}

/** The docs/benchmarks.md section, or nothing when the bench skipped the runs it needs. */
export function cpuSplitSection(results: BenchResults): string[] {
  const splits = cpuSplits(results);
  if (splits.length === 0) return [];
  const lines = [
    '',
    '## What the tool\'s CPU per GB is made of',
    '',
    'Each NBIA run above, split with runs the bench has already made. "raw pipe" is the baseline at the same concurrency: the same bytes over the same sockets, nothing checked, in a process that is already warm. "fixed" is the median of the fixed-cost runs (section "Where the tool\'s CPU goes" below: start-up, planning, commits, records) over this run\'s GB. What is left estimates the tool\'s own work on each byte (with the compiling of its data path, which the warm raw pipe does not pay), against the floor (inflate and MD5 in native code, measured just before the run). It is an estimate: the parts do not add up exactly, and where the machine is idle (c=1) every piece of the download wakes the raw pipe from sleep while the tool, busy inflating, is more often awake already, so its own work can come out below the floor. A tool within 2 × the floor has to move the bytes for under 1 × the floor; "raw pipe ÷ floor" is what moving them costs on this machine.',
    '',
    "| pass | c | tool | raw pipe | fixed | tool's own work per byte | floor | own work ÷ floor | raw pipe ÷ floor | tool ÷ floor |",
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const s of splits) {
    lines.push(`| ${s.pass} | ${s.concurrency} | ${fixed(s.tool, 2)} | ${fixed(s.rawPipe, 2)} | ${fixed(s.fixedPerGB, 2)} | ${fixed(s.perByte, 2)} | ${fixed(s.floor, 2)} | ${fixed(s.perByte / s.floor, 2)} | ${fixed(s.rawPipe / s.floor, 2)} | ${fixed(s.tool / s.floor, 2)} |`);
  }
  lines.push('', 'All figures are CPU seconds per GB of DICOM.');
  return lines;
}
