/**
 * `tsx scripts/bench-idc-index.ts [rows] [spread|block] [duckdb|pyarrow]`: plans the 19,148-series BSC-DBT manifest
 * against an IDC index of a million rows (default) and prints wall time, CPU time, peak RSS and bytes fetched for three
 * cases: a cold cache over HTTP (Range requests), a warm cache (one 304) and a local file. Each case runs in a fresh
 * process running the tool's modules (through tsx, whose loader adds to its peak RSS). `spread` (default, the worst
 * case) puts the manifest's UIDs evenly through the file, so every row group holds some; `block` puts them in consecutive rows, as
 * one collection's series would be. The index is laid out as DuckDB and then as pyarrow write it (both unless one is
 * named; docs/reference/idc.md#index). A few hundred thousand rows make a quick run. Budget (issue 12): 30 s and 300 MB.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startIdcEmulator } from '../emulators/idc/index.js';
import { INDEX_FORMATS, writeBenchIndex, type IndexFormat, type IndexLayout } from './bench-idc-index-data.js';

const ROWS = Number(process.argv[2] ?? 1_000_000);
const layoutArg = process.argv[3] ?? 'spread';
if (layoutArg !== 'spread' && layoutArg !== 'block') throw new Error(`layout must be spread or block, not ${layoutArg}`);
const LAYOUT: IndexLayout = layoutArg;
const FORMATS = process.argv[4] ? [process.argv[4] as IndexFormat] : INDEX_FORMATS;
if (!FORMATS.every((f) => INDEX_FORMATS.includes(f))) throw new Error(`the writer must be ${INDEX_FORMATS.join(' or ')}, not ${process.argv[4]}`);
const MANIFEST = 'resources/TCIA/BSC-DBT-Train-manifest.tcia';

const wanted = (await readFile(MANIFEST, 'utf8')).split(/\r?\n/).map((l) => l.trim()).filter((l) => /^[0-9.]+$/.test(l) && l.includes('.'));
const wantedSet = new Set(wanted);

const dir = await mkdtemp(join(tmpdir(), 'xtd-idc-bench-'));
// XTD_BENCH_IDC_INDEX=prefix keeps the written indexes at <prefix>-<writer>.parquet and reuses them on the next run
// (writing takes longer than reading).
const keep = process.env.XTD_BENCH_IDC_INDEX;
// The measured process: read the manifest and look its UIDs up, exactly as the plan will.
// The sources run through tsx (dist/ is one bundle); time and CPU count from after the imports.
const child = `
  const { readManifest } = await import('./src/manifest/read-manifest.ts');
  const { lookupIdcSeries } = await import('./src/sources/idc/index-reader.ts');
  const t = Date.now();
  const cpu = process.cpuUsage();
  const manifest = await readManifest(process.argv[1]);
  const r = await lookupIdcSeries(process.argv[2], manifest.seriesUids, { cacheDir: process.argv[3] });
  const used = process.cpuUsage(cpu);
  // VmHWM, not getrusage's maxRSS: that one can start from the parent's RSS at the fork, and this parent has just
  // held a whole row group of rows to write the index.
  const hwm = /VmHWM:\\s+(\\d+) kB/.exec(await (await import('node:fs/promises')).readFile('/proc/self/status', 'utf8').catch(() => ''));
  const maxRssKb = hwm ? Number(hwm[1]) : process.resourceUsage().maxRSS;
  console.log(JSON.stringify({ ms: Date.now() - t, cpuMs: Math.round((used.user + used.system) / 1000), maxRssMB: Math.round(maxRssKb / 1024), found: r.series.size, wanted: manifest.seriesUids.length, fetchedMB: +(r.bytesFetched / 1e6).toFixed(1) }));
`;
try {
  for (const format of FORMATS) await benchFormat(format);
} finally {
  await rm(dir, { recursive: true, force: true });
}

async function benchFormat(format: IndexFormat): Promise<void> {
  const indexPath = keep ? `${keep}-${format}.parquet` : join(dir, `tcia_idc_subset-${format}.parquet`);
  const started = Date.now();
  const size = await writeBenchIndex(indexPath, wanted, ROWS, LAYOUT, format, keep !== undefined);
  console.log(`index as ${format} writes it: ${ROWS} rows (${LAYOUT}), ${(Number(size) / 1e6).toFixed(1)} MB, ready in ${((Date.now() - started) / 1000).toFixed(1)} s; manifest: ${wantedSet.size} series`);
  const emu = await startIdcEmulator({ collection: [], indexFile: indexPath });
  const cacheDir = join(dir, `cache-${format}`);
  try {
    for (const [name, source] of [['cold cache, HTTP', emu.indexUrl], ['warm cache, HTTP', emu.indexUrl], ['local file', indexPath]] as const) {
      // Asynchronous: the emulator in this process must keep answering while the child reads.
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', child, MANIFEST, source, cacheDir], { encoding: 'utf8' });
      console.log(`${name.padEnd(18)} ${stdout.trim()}`);
    }
    const ranges = emu.requests.filter((r) => r.method === 'GET').length;
    console.log(`index requests: ${emu.requests.length} (${ranges} range GETs); load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${cpus().length} cores`);
  } finally {
    await emu.close();
  }
}
