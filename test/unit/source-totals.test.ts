import { totalsBySource } from '../../src/finalize/summarize.js';
import type { SeriesOutcome } from '../../src/finalize/report.js';

const imported = (source: 'idc' | 'nbia', startedMs: number, endedMs: number, bytes: number): SeriesOutcome => ({
  status: 'imported', files: 2, bytes, md5Verified: 2, attempts: 1, error: '', source, verified: 'md5', startedMs, endedMs,
});

test('per source: series, files and bytes, and MB/s over the time the source had series in flight, overlaps counted once', () => {
  const totals = totalsBySource([
    imported('idc', 0, 2000, 10e6),
    imported('idc', 1000, 4000, 10e6),
    imported('idc', 6000, 7000, 5e6),
    imported('nbia', 0, 5000, 10e6),
    { status: 'failed', files: 0, bytes: 0, md5Verified: 0, attempts: 4, error: 'x', source: 'idc' },
  ]);
  // IDC was busy 0–4 s and 6–7 s: 5 s for 25 MB.
  expect(totals.idc).toEqual({ imported: 3, files: 6, bytes: 25e6, seconds: 5, mbPerSecond: 5 });
  expect(totals.nbia).toEqual({ imported: 1, files: 2, bytes: 10e6, seconds: 5, mbPerSecond: 2 });
});

test('a run that sent nothing has no per-source totals', () => {
  expect(totalsBySource([])).toEqual({});
});
