/**
 * Preloaded into the tool (`node --import ./scripts/bench-memory-probe.mjs dist/cli.js …`, or through NODE_OPTIONS)
 * during the profiled benchmark run and the peak-RSS test: samples process.memoryUsage() every 50 ms and, at exit,
 * writes the process's peak RSS and the breakdown at the moment of peak RSS to $BENCH_MEMORY_OUT. Plain JavaScript,
 * so the tool runs without a TypeScript loader.
 */
import { writeFileSync } from 'node:fs';
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
  // maxRss is the kernel's high-water mark of the whole process (getrusage), which no sampling can miss.
  const maxRss = mb(process.resourceUsage().maxRSS * 1024);
  writeFileSync(target, JSON.stringify({ maxRss, atPeakRss: peak, max: Object.fromEntries(Object.entries(max).map(([key, value]) => [key, mb(value)])) }));
});
