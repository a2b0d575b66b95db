/** docs/benchmarks.md for `npm run bench`: the measured sections, then the hand-written analysis kept between its markers. */
import { readFile, writeFile } from 'node:fs/promises';
import { cpuKindsSection } from './bench-cpu-kinds.js';
import { packageTable, profileTable } from './bench-profile.js';
import { cpuSplitSection } from './bench-split.js';
import { checkTargets, fixed, floorCpuPerGB, MB, ratioTable, runTable, sourceTable, targetTable, verifyRate, type BenchResults } from './bench-report.js';
import { cliNodeFlags } from './bench-runs.js';
import { scaleSection } from './bench-scale.js';

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
  const seen = results.verify.filter((v) => v.relay === 'floor' && !v.when && v.dicomBytes > 0);
  if (seen.length === 0) return '';
  return ` The data's compression ratios, measured on the verify series: ${seen.map((v) => `${v.pixels} ${fixed(v.dicomBytes / v.zipBytes, 2)}:1`).join(', ')} (a 5 MB/s cap on the zip carries that many times 5 MB/s of DICOM).`;
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
    ...cpuSplitSection(results),
  ];
  const sources = sourceTable(results.runs);
  if (sources) {
    parts.push(
      '',
      '## IDC beside NBIA',
      '',
      `The same collection, every series from the IDC emulator's buckets (\`--source idc\`; one object per instance, fetched \`--idc-connections\` 8 at a time across the run, each checked by its ETag-MD5 and header) against the tool on NBIA (one zip per series). Each connection has the same cap on both servers; on NBIA's it counts zip bytes, on IDC's the objects' DICOM bytes, which are not compressed, so IDC's 8 connections carry at most 8 × the cap of DICOM whatever the concurrency. IDC serves its objects from storage, so the bench builds every object and its ETag once, before these runs, and the emulator serves the stored bytes. The runs are in the table above as "tool-idc".`,
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
  if (results.planningIdc.length > 0) {
    const p = results.planningIdc[0]!;
    parts.push('', `The same dry run with \`--source auto\` against an IDC index of ${p.indexRows} rows, the manifest's UIDs spread through the file (the worst case), served over HTTP by the IDC emulator with a cold cache; every series must be routed to IDC. The index is laid out as each writer IDC has used leaves it (docs/reference/idc.md#index): DuckDB, row groups of 122,880 rows with one page per column chunk; pyarrow, one row group of ~1 MB pages.`, '', '| index written by | MB | wall s | peak RSS MB | CPU s | check |', '|---|---:|---:|---:|---:|---|');
    for (const q of results.planningIdc) parts.push(`| ${q.format} | ${fixed(q.indexBytes / 1e6)} | ${fixed(q.cost.wallSeconds)} | ${fixed(q.cost.peakRssMB, 0)} | ${fixed(q.cost.cpuSeconds)} | ${q.problem || 'ok'} |`);
  }
  if (results.verify.length > 0) {
    parts.push(
      '',
      '## Verification on one core',
      '',
      `One series held in memory as NBIA's zip (level ${results.deflateLevel}, data descriptors), uploaded into a sink that discards${results.verify[0]?.pinned ? ', the process pinned to one core with taskset (so the libuv pool\'s zlib work counts too)' : ''}; median of the rounds after one warm-up round. "floor": each entry's compressed bytes (cut out beforehand) inflated in one zlib call and hashed in one MD5 call, the least a verifying tool spends; measured at the start of the bench and again at its end, and "× floor" uses the median round of both; before each tool run on NBIA it is measured once more (5 rounds, that run's ratio), and the CPU target judges each run against that floor and the bench-wide one, whichever is lower, so that a floor read in a slow moment cannot pass a run by itself. "tool": the tool's \`relaySeries\`, which copies TCIA's DEFLATE bytes to XNAT and inflates a side copy for CRC-32 and size, MD5 and header.`,
      '',
      '| relay | pixels | ratio | files | MB | MB/s (median) | CPU s per GB | × floor | rounds MB/s |',
      '|---|---|---:|---:|---:|---:|---:|---:|---|',
    );
    for (const v of results.verify) {
      const r = verifyRate(v);
      parts.push(`| ${v.relay ?? 'tool'}${v.when === 'end' ? ', at the end' : ''} | ${v.pixels ?? 'default'} | ${fixed(v.dicomBytes / v.zipBytes, 2)} | ${v.images} | ${fixed(v.dicomBytes / 1e6, 0)} | **${fixed(r.wall, 0)}** | ${fixed(r.cpuPerGB, 2)} | ${fixed(r.cpuPerGB / floorCpuPerGB(results, v.pixels ?? ''), 2)} | ${v.rounds.map((x) => fixed(x.bytes / MB / x.seconds, 0)).join(', ')} |`);
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
