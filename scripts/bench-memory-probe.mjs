/**
 * Preloaded into the tool (`node --import ./scripts/bench-memory-probe.mjs dist/cli.js …`, or through NODE_OPTIONS)
 * during the profiled benchmark run and the peak-RSS test: samples process.memoryUsage() every 50 ms and, at exit,
 * writes the process's peak RSS and the breakdown at the moment of peak RSS to $BENCH_MEMORY_OUT. Plain JavaScript,
 * so the tool runs without a TypeScript loader.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { setInterval } from 'node:timers';

const target = process.env.BENCH_MEMORY_OUT;
let atPeak = process.memoryUsage();
const max = { heapUsed: 0, heapTotal: 0, external: 0, arrayBuffers: 0 };

const timer = setInterval(() => {
  const now = process.memoryUsage();
  if (now.rss > atPeak.rss) atPeak = now;
  for (const key of Object.keys(max)) max[key] = Math.max(max[key], now[key]);
}, 50);
timer.unref();

process.on('exit', () => {
  if (!target) return;
  const mb = (bytes) => Math.round((bytes / 2 ** 20) * 10) / 10;
  const peak = Object.fromEntries(Object.entries(atPeak).map(([key, value]) => [key, mb(value)]));
  // maxRss is the kernel's high-water mark of the whole process, which no sampling can miss.
  const maxRss = mb(peakRssBytes());
  writeFileSync(target, JSON.stringify({ maxRss, atPeakRss: peak, max: Object.fromEntries(Object.entries(max).map(([key, value]) => [key, mb(value)])) }));
});

/**
 * VmHWM where /proc has it. getrusage's maxRSS can start from the parent's RSS at the fork (its ArrayBuffers are
 * counted): a test that had just written a 400,000-row index made the CLI it spawned report 281 MB, VmHWM 116.
 */
function peakRssBytes() {
  try {
    const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (hwm) return Number(hwm[1]) * 1024;
  } catch {
    // no /proc: getrusage below
  }
  return process.resourceUsage().maxRSS * 1024;
}
