/** Reads a V8 `.cpuprofile` (from `node --cpu-prof`) and sums self time per function and per package. */
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { SourceMap, type SourceMapping } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { whenRunAsScript } from './bench-measure.js';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** One row of a self-time summary. */
export interface SelfTime {
  name: string;
  /** Where the code lives: `src/…`, a package name, `node:…`, or V8's own bucket such as `(garbage collector)`. */
  where: string;
  selfMs: number;
  /** Share of the busy (non-idle) samples. */
  percent: number;
}

/** What a profile says about where the CPU went. */
export interface ProfileSummary {
  /** Milliseconds with the main thread busy, i.e. every sample but `(idle)`. */
  busyMs: number;
  idleMs: number;
  functions: SelfTime[];
  packages: SelfTime[];
}

/** A short, stable label for a script URL: the package under node_modules, the project path, or the node: module. */
export function codeLocation(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules) return modules[1] as string;
  if (url.startsWith('node:')) return url;
  const bundled = /^webpack:\/\/+([^/]+)\//.exec(url);
  if (bundled) return bundled[1] as string;
  const project = /\/(src|dist|scripts|test)\/(.*)$/.exec(url);
  return project ? `${project[1]}/${project[2]}` : url.replace(/^file:\/\//, '');
}

/**
 * The source a frame of bundled code came from (dist/ is one bundle with linked source maps, scripts/build.mjs), so
 * the tables name src/ files and packages rather than chunks. Frames without a map are returned as they are.
 */
function sourceMapper(): (frame: CallFrame) => CallFrame {
  const maps = new Map<string, { map: SourceMap; dir: string } | undefined>();
  const load = (url: string): { map: SourceMap; dir: string } | undefined => {
    if (!url.startsWith('file://') || !url.endsWith('.js')) return undefined;
    const file = fileURLToPath(url);
    if (!existsSync(`${file}.map`)) return undefined;
    return { map: new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8'))), dir: dirname(file) };
  };
  return (frame) => {
    if (!maps.has(frame.url)) maps.set(frame.url, load(frame.url));
    const found = maps.get(frame.url);
    const entry = found?.map.findEntry(frame.lineNumber, frame.columnNumber) as Partial<SourceMapping> | undefined;
    // Node 20 answers {} or an entry without a source for code the map does not cover.
    if (!found || typeof entry?.originalSource !== 'string') return frame;
    // A package shipped with its own map names its sources by its bundler's scheme (dicom-parser: webpack://dicomParser/…).
    const scheme = /^[a-z]+:\/\//i.test(entry.originalSource);
    const url = scheme ? entry.originalSource : pathToFileURL(resolve(found.dir, entry.originalSource)).href;
    return { ...frame, url, lineNumber: entry.originalLine ?? frame.lineNumber, columnNumber: entry.originalColumn ?? frame.columnNumber };
  };
}

/** Sums self time from the samples (each sample's time delta belongs to the node it hit). */
export async function summariseCpuProfile(path: string, top = 15): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(path, 'utf8')) as CpuProfile;
  // Each node's frame is mapped back to its source once, not once per sample.
  const original = sourceMapper();
  const byId = new Map(profile.nodes.map((n) => [n.id, { ...n, callFrame: original(n.callFrame) }]));
  const perFunction = new Map<string, { name: string; where: string; us: number }>();
  const perPackage = new Map<string, number>();
  let idleUs = 0;
  let busyUs = 0;
  // timeDeltas[i] is the gap before sample i, so it is attributed to sample i (what DevTools does too).
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i] as number);
    const us = Math.max(0, profile.timeDeltas[i] ?? 0);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    busyUs += us;
    const where = codeLocation(url, functionName);
    const name = functionName || '(anonymous)';
    const key = `${name}\u0000${url}\u0000${lineNumber}`;
    const entry = perFunction.get(key) ?? { name: url ? `${name}:${lineNumber + 1}` : name, where, us: 0 };
    entry.us += us;
    perFunction.set(key, entry);
    perPackage.set(where, (perPackage.get(where) ?? 0) + us);
  }
  const share = (us: number): number => (busyUs > 0 ? (100 * us) / busyUs : 0);
  const functions = [...perFunction.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, top)
    .map((f) => ({ name: f.name, where: f.where, selfMs: f.us / 1000, percent: share(f.us) }));
  const packages = [...perPackage.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([where, us]) => ({ name: where, where, selfMs: us / 1000, percent: share(us) }));
  return { busyMs: busyUs / 1000, idleMs: idleUs / 1000, functions, packages };
}

/** Markdown table of the top functions. */
export function profileTable(summary: ProfileSummary, rows = 12): string {
  const lines = ['| self % | self ms | function | where |', '|---:|---:|---|---|'];
  for (const f of summary.functions.slice(0, rows)) {
    lines.push(`| ${f.percent.toFixed(1)} | ${f.selfMs.toFixed(0)} | \`${f.name}\` | ${f.where} |`);
  }
  return lines.join('\n');
}

/** Markdown table of self time per package (or project folder, or V8 bucket). */
export function packageTable(summary: ProfileSummary, rows = 10): string {
  const lines = ['| self % | self ms | code |', '|---:|---:|---|'];
  for (const p of summary.packages.slice(0, rows)) lines.push(`| ${p.percent.toFixed(1)} | ${p.selfMs.toFixed(0)} | ${p.where} |`);
  return lines.join('\n');
}

// `tsx scripts/bench-profile.ts <file.cpuprofile> [top]` prints both tables.
await whenRunAsScript(import.meta.url, 'tsx scripts/bench-profile.ts <file.cpuprofile> [top]', async (file, top) => {
  const summary = await summariseCpuProfile(file, Number(top ?? 20));
  console.log(`busy ${summary.busyMs.toFixed(0)} ms, idle ${summary.idleMs.toFixed(0)} ms\n`);
  console.log(profileTable(summary, Number(top ?? 20)));
  console.log('');
  console.log(packageTable(summary));
});
