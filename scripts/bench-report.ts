/** Tables, target checks and the docs/benchmarks.md writer for `npm run bench`. */
import { readFile, writeFile } from 'node:fs/promises';
import { cpuKindsSection, type CpuKindsRun } from './bench-cpu-kinds.js';
import { scaleSection, type ScaleRun } from './bench-scale.js';
import type { ProcessCost } from './bench-measure.js';
import { packageTable, profileTable, type ProfileSummary } from './bench-profile.js';
import { cliNodeFlags, type RunResult } from './bench-runs.js';
import type { VerifyResult } from './bench-verify.js';

const MB = 1e6;

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
  /** The same manifest planned against a large IDC index (--source auto). */
  planningIdc?: { cost: ProcessCost; series: number; problem: string; manifest: string; indexRows: number; indexBytes: number };
  /** The verify micro-benchmark: the floor at each ratio, the tool's relay and the prototype at 2.5:1. */
  verify: (VerifyResult & { profile?: ProfileSummary })[];
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

function fixed(value: number, digits = 1): string {
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

function find(runs: RunResult[], pass: string, who: RunResult['who'], c: number): RunResult | undefined {
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

/** Median MB/s of the verify rounds (DICOM bytes per wall second, one core). */
export function verifyRate(verify: VerifyResult): { wall: number; perCpu: number } {
  const median = (values: number[]): number => {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)] ?? NaN;
  };
  return {
    wall: median(verify.rounds.map((r) => r.bytes / MB / r.seconds)),
    perCpu: median(verify.rounds.map((r) => r.bytes / MB / r.cpuSeconds)),
  };
}

/** CPU seconds per GB of DICOM. */
export function cpuPerGB(run: RunResult): number {
  return run.cost.cpuSeconds / (run.bytes / 1e9);
}

/** The verify floor's CPU seconds per GB (median round) for a pixel fill, measured in the same run. */
function floorCpuPerGB(results: BenchResults, pixels: string): number {
  const floor = results.verify.find((v) => v.relay === 'floor' && v.pixels === pixels);
  return floor ? 1000 / verifyRate(floor).perCpu : NaN;
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
      checks.push({ target: `${pass}, c=${c}: tool CPU s per GB ≤ 2 × verify floor`, measured: `${fixed(perGB)} vs floor ${fixed(floor, 2)} (${fixed(perGB / floor, 1)} ×)`, met: Number.isFinite(perGB / floor) ? perGB <= 2 * floor : undefined });
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
  if (results.planningIdc) {
    const p = results.planningIdc;
    checks.push({ target: `planning ${p.series} series against a ${p.indexRows}-row IDC index ≤ 30 s`, measured: p.problem || `${fixed(p.cost.wallSeconds)} s`, met: !p.problem && p.cost.wallSeconds <= 30 });
    checks.push({ target: 'planning against the IDC index: peak RSS ≤ 300 MB', measured: `${fixed(p.cost.peakRssMB, 0)} MB`, met: !p.problem && p.cost.peakRssMB <= 300 });
  }
  return checks;
}

export function targetTable(checks: TargetCheck[]): string {
  const lines = ['| target | measured | met |', '|---|---|---|'];
  for (const c of checks) lines.push(`| ${c.target} | ${c.measured} | ${c.met === undefined ? 'not measured' : c.met ? 'yes' : '**no**'} |`);
  return lines.join('\n');
}

const ANALYSIS_START = '<!-- analysis:start -->';
const ANALYSIS_END = '<!-- analysis:end -->';

/** The measured part of docs/benchmarks.md; a hand-written analysis between the markers survives regeneration. */
export async function writeBenchmarksDoc(path: string, results: BenchResults): Promise<void> {
  let analysis = `${ANALYSIS_START}\n## Analysis\n\n(Write the explanation of missed targets here; \`npm run bench\` keeps this section.)\n${ANALYSIS_END}`;
  try {
    const old = await readFile(path, 'utf8');
    const start = old.indexOf(ANALYSIS_START);
    const end = old.indexOf(ANALYSIS_END);
    if (start >= 0 && end > start) analysis = old.slice(start, end + ANALYSIS_END.length);
  } catch {
    // first run: the placeholder
  }
  await writeFile(path, `${renderMarkdown(results, analysis)}\n`);
}

/** The compression ratio each pixel fill actually had, from the verify runs' series (same fill, same level). */
function ratioNote(results: BenchResults): string {
  const seen = results.verify.filter((v) => v.relay === 'floor' && v.dicomBytes > 0);
  if (seen.length === 0) return '';
  return ` The data's compression ratios, measured on the verify series: ${seen.map((v) => `${v.pixels} ${fixed(v.dicomBytes / v.zipBytes, 2)}:1`).join(', ')} (a ${'5 MB/s'} cap on the zip carries that many times 5 MB/s of DICOM).`;
}

export function renderMarkdown(results: BenchResults, analysis = ''): string {
  const m = results.machine;
  const d = results.dataset;
  const parts: string[] = [
    '# Benchmarks',
    '',
    `Measured by \`${results.command}\` (preset: ${results.preset}) on ${results.startedAt}, ${fixed(results.minutes)} minutes in all.`,
    '',
    `**Machine:** ${m.cpu}, ${m.cores} cores, ${m.memoryGB} GB memory, Node ${m.node}, Linux ${m.kernel}. Load average ${fixed(results.loadBefore, 2)} at the start, ${fixed(results.loadAfter, 2)} at the end (other work on the machine shows as "other CPU s" below).`,
    '',
    `**Collection:** per compression ratio, ${d.series} series × ${d.images} images of ${d.rows}×${d.rows} 16-bit CT (${fixed(d.bytes / d.series / d.images / 1024, 0)} KB per file), ${fixed(d.bytes / 1e9, 2)} GB of DICOM; one series per study, so \`--concurrency\` N moves N series at once. "ct" pixels deflate like CT/MR, "padded" like CT with padding outside the field of view (emulators/dicom PixelShape). ${results.levelNote}${ratioNote(results)}`,
    '',
    `**How:** each emulator runs in its own Node process, restarted for every run so XNAT starts empty. The tool is \`dist/cli.js import\` (node with its shebang's flags, \`${cliNodeFlags().join(' ')}\`) spawned under GNU \`time\` (wall, user+sys CPU of all its threads, and peak RSS from wait4). The raw baseline pipes each getImage response straight into \`/data/services/import\` with got streams inside the bench process (CPU from \`process.cpuUsage\`, peak RSS from VmHWM after resetting it through \`/proc/self/clear_refs\`). MB/s counts DICOM bytes (10^6) over the whole wall time; for the tool that includes start-up, planning, commits and the run records ("transfer MB/s" is over the tool's transfer phase from its report.json). The bandwidth cap counts bytes on the wire, i.e. of the zip. Every run is checked: XNAT must end up holding as many files and as many bytes as were sent. "machine busy" is the whole machine's CPU use during the run as a share of all cores.`,
    '',
    '## Tool against the raw pipe',
    '',
    ratioTable(results.runs),
    '',
    '### Every run',
    '',
    runTable(results.runs, m.cores),
    '',
    '## Targets',
    '',
    targetTable(checkTargets(results)),
  ];
  const sources = sourceTable(results.runs);
  if (sources) {
    parts.push(
      '',
      '## IDC beside NBIA',
      '',
      `The same collection, every series from the IDC emulator's buckets (\`--source idc\`; one object per instance, fetched \`--idc-connections\` 8 at a time across the run, each checked by its ETag-MD5 and header) against the tool on NBIA (one zip per series). Each connection has the same cap on both servers; on NBIA's it counts zip bytes, on IDC's the objects' DICOM bytes, which are not compressed. The runs are in the table above as "tool-idc".`,
      '',
      sources,
    );
  }
  if (results.single) {
    const s = results.single;
    parts.push('', '## One large series', '', `One series of ${s.files} files, ${fixed(s.bytes / 1e9, 2)} GB, moved by the tool at c=${s.concurrency}, ${s.pass}:`, '', runTable([s], m.cores));
  }
  if (results.planning) {
    const p = results.planning;
    parts.push('', '## Planning a large manifest', '', `\`--dry-run\` of \`${p.manifest}\` (${p.series} series) against the emulators: v4 getSeriesMetadata in batches plus the XNAT project lookup (the project exists and is empty).`, '', '| wall s | peak RSS MB | CPU s | check |', '|---:|---:|---:|---|', `| ${fixed(p.cost.wallSeconds)} | ${fixed(p.cost.peakRssMB, 0)} | ${fixed(p.cost.cpuSeconds)} | ${p.problem || 'ok'} |`);
  }
  if (results.planningIdc) {
    const p = results.planningIdc;
    parts.push('', `The same dry run with \`--source auto\` against an IDC index of ${p.indexRows} rows (${fixed(p.indexBytes / 1e6)} MB, laid out as DuckDB writes IDC's file, the manifest's UIDs spread through every row group: the worst case), served over HTTP by the IDC emulator with a cold cache; every series must be routed to IDC.`, '', '| wall s | peak RSS MB | CPU s | check |', '|---:|---:|---:|---|', `| ${fixed(p.cost.wallSeconds)} | ${fixed(p.cost.peakRssMB, 0)} | ${fixed(p.cost.cpuSeconds)} | ${p.problem || 'ok'} |`);
  }
  if (results.verify.length > 0) {
    parts.push(
      '',
      '## Verification on one core',
      '',
      `One series held in memory as NBIA's zip (level ${results.deflateLevel}, data descriptors), uploaded into a sink that discards${results.verify[0]?.pinned ? ', the process pinned to one core with taskset (so the libuv pool\'s zlib work counts too)' : ''}; median of the rounds after one warm-up round. "floor": each entry's compressed bytes (cut out beforehand) inflated in one zlib call and hashed in one MD5 call, the least a verifying tool spends. "tool": the tool's \`relaySeries\`, which copies TCIA's DEFLATE bytes to XNAT and inflates a side copy for CRC-32 and size, MD5 and header.`,
      '',
      '| relay | pixels | ratio | files | MB | MB/s (median) | CPU s per GB | × floor | rounds MB/s |',
      '|---|---|---:|---:|---:|---:|---:|---:|---|',
    );
    for (const v of results.verify) {
      const r = verifyRate(v);
      const perGB = 1000 / r.perCpu;
      parts.push(`| ${v.relay ?? 'tool'} | ${v.pixels ?? 'default'} | ${fixed(v.dicomBytes / v.zipBytes, 2)} | ${v.images} | ${fixed(v.dicomBytes / 1e6, 0)} | **${fixed(r.wall, 0)}** | ${fixed(perGB, 2)} | ${fixed(perGB / floorCpuPerGB(results, v.pixels ?? ''), 2)} | ${v.rounds.map((x) => fixed(x.bytes / MB / x.seconds, 0)).join(', ')} |`);
    }
    for (const v of results.verify) {
      if (v.profile) parts.push('', `Where the CPU goes in "${v.relay}" on ${v.pixels} pixels (self time over the measured rounds only, V8 profiler):`, '', profileTable(v.profile, 12), '', packageTable(v.profile, 8));
    }
  }
  const mem = results.profiled?.memory;
  if (mem && results.profiled) {
    const peak = mem.atPeakRss;
    parts.push(
      '',
      '## Where the tool\'s memory goes',
      '',
      `In the profiled run (${results.profiled.pass}, c=${results.profiled.concurrency}) \`process.memoryUsage()\` was sampled every 50 ms; at the moment of peak RSS (${fixed(peak.rss, 0)} MB by that sampler, ${fixed(results.profiled.cost.peakRssMB, 0)} MB by the kernel's high-water mark):`,
      '',
      '| RSS | V8 heap reserved | V8 heap used | external (Buffers etc.) | of which ArrayBuffers | rest: code, native heap, stacks |',
      '|---:|---:|---:|---:|---:|---:|',
      `| ${fixed(peak.rss, 0)} | ${fixed(peak.heapTotal, 0)} | ${fixed(peak.heapUsed, 0)} | ${fixed(peak.external, 0)} | ${fixed(peak.arrayBuffers, 0)} | ${fixed(peak.rss - peak.heapTotal - peak.external, 0)} |`,
      '',
      `Maxima over the run: heap used ${fixed(mem.max.heapUsed, 0)} MB, heap reserved ${fixed(mem.max.heapTotal, 0)} MB, ArrayBuffers ${fixed(mem.max.arrayBuffers, 0)} MB.`,
    );
  }
  for (const p of results.profiles) {
    parts.push('', `## Profile: ${p.title}`, '', `Busy ${fixed(p.summary.busyMs / 1000)} s of main-thread time, idle ${fixed(p.summary.idleMs / 1000)} s.`, '', profileTable(p.summary, 12), '', packageTable(p.summary, 8));
  }
  if (results.fixedCost.length > 0 || results.cpuKinds.length > 0) parts.push(...cpuKindsSection(results.cpuKinds, results.fixedCost));
  parts.push(...scaleSection(results.scale, (ratio) => floorCpuPerGB(results, ratio)));
  parts.push('', analysis);
  return parts.join('\n');
}
