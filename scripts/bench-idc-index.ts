/**
 * `tsx scripts/bench-idc-index.ts [rows] [spread|block]`: plans the 19,148-series BSC-DBT manifest
 * against an IDC index of a million rows (default) and prints wall time, CPU time, peak RSS and bytes fetched for three
 * cases: a cold cache over HTTP (Range requests), a warm cache (one 304) and a local file. Each case runs in a fresh
 * process running the tool's modules (through tsx, whose loader adds to its peak RSS). `spread` (default, the worst
 * case) puts the manifest's UIDs evenly through the file, so every row group holds some; `block` puts them in consecutive rows, as
 * one collection's series would be. Budget (issue 12): 30 s and 300 MB.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startIdcEmulator } from '../emulators/idc/index.js';
import { writeBenchIndex } from './bench-idc-index-data.js';

const ROWS = Number(process.argv[2] ?? 1_000_000);
const LAYOUT = process.argv[3] ?? 'spread';
if (LAYOUT !== 'spread' && LAYOUT !== 'block') throw new Error(`layout must be spread or block, not ${LAYOUT}`);
const MANIFEST = 'resources/TCIA/BSC-DBT-Train-manifest.tcia';

const wanted = (await readFile(MANIFEST, 'utf8')).split(/\r?\n/).map((l) => l.trim()).filter((l) => /^[0-9.]+$/.test(l) && l.includes('.'));
const wantedSet = new Set(wanted);

const dir = await mkdtemp(join(tmpdir(), 'xtd-idc-bench-'));
// XTD_BENCH_IDC_INDEX=path keeps the written index there and reuses it on the next run (writing takes longer than reading).
const keep = process.env.XTD_BENCH_IDC_INDEX;
const indexPath = keep ?? join(dir, 'tcia_idc_subset.parquet');
const started = Date.now();
const size = await writeBenchIndex(indexPath, wanted, ROWS, LAYOUT, keep !== undefined);
console.log(`index: ${ROWS} rows (${LAYOUT}), ${(Number(size) / 1e6).toFixed(1)} MB, ready in ${((Date.now() - started) / 1000).toFixed(1)} s; manifest: ${wantedSet.size} series`);

const emu = await startIdcEmulator({ collection: [], indexFile: indexPath });
const cacheDir = join(dir, 'cache');
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
  console.log(JSON.stringify({ ms: Date.now() - t, cpuMs: Math.round((used.user + used.system) / 1000), maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024), found: r.series.size, wanted: manifest.seriesUids.length, fetchedMB: +(r.bytesFetched / 1e6).toFixed(1) }));
`;
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
  await rm(dir, { recursive: true, force: true });
}
