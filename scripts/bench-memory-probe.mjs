/**
 * Preloaded into the tool (`node --import ./scripts/bench-memory-probe.mjs dist/cli.js …`) during the profiled
 * benchmark run: samples process.memoryUsage() every 50 ms and, at exit, writes the breakdown at the moment of
 * peak RSS to $BENCH_MEMORY_OUT. Plain JavaScript, so the tool runs without a TypeScript loader.
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
  writeFileSync(target, JSON.stringify({ atPeakRss: peak, max: Object.fromEntries(Object.entries(max).map(([key, value]) => [key, mb(value)])) }));
});
