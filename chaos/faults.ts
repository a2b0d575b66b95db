/** Seeded faults on both sides, armed once before the first run; they fire across the runs that follow. */
import type { NbiaEmulator } from '../emulators/nbia/index.js';
import type { SeriesSpec } from '../emulators/dicom/synthetic-series.js';
import type { XnatEmulator } from '../emulators/xnat/index.js';
import type { Random } from './random.js';

/** How long XNAT keeps archiving behind a commit it answered 504; long enough for a kill to land inside. */
export const BACKGROUND_ARCHIVE_MS = 4000;

/** Arms the faults and returns one line per kind saying how many were armed. */
export function armFaults(random: Random, nbia: NbiaEmulator, xnat: XnatEmulator, specs: SeriesSpec[]): string[] {
  const armed = new Map<string, number>();
  const note = (kind: string, n = 1): void => void armed.set(kind, (armed.get(kind) ?? 0) + n);
  // About a fifth of the series get one TCIA fault each (at most two firings: --retries leaves room for more).
  const victims = specs.filter(() => random.chance(0.2));
  let stalled = false;
  for (const spec of victims) {
    const seriesUid = spec.seriesUid;
    const kind = !stalled && random.chance(0.1) ? 'stall' : random.pick(['429', '500', 'truncated', 'corrupted']);
    if (kind === 'stall') {
      stalled = true;
      nbia.faults.add({ stallAfterBytes: { bytes: 200, seriesUid, endpoint: 'getImage' } });
    } else if (kind === '429') nbia.faults.add({ failFirst: { status: 429, retryAfter: 1, seriesUid, endpoint: 'getImage', count: random.int(1, 2) } });
    else if (kind === '500') nbia.faults.add({ failFirst: { status: 500, seriesUid, endpoint: 'getImage', count: random.int(1, 2) } });
    else if (kind === 'truncated') nbia.faults.add({ truncateAfterBytes: { bytes: random.int(100, 1500), seriesUid, count: random.int(1, 2) } });
    else nbia.faults.add({ corruptByte: { entryIndex: random.int(0, spec.imageCount - 1), seriesUid, count: 1 } });
    note(`TCIA ${kind}`);
  }
  // Metadata requests fail now and then.
  const metadataFailures = random.int(1, 2);
  nbia.faults.add({ failFirst: { status: random.pick([500, 503]), endpoint: 'getSeriesMetadata', count: metadataFailures } });
  note('TCIA metadata failure', metadataFailures);

  const importFailures = random.int(2, 5);
  xnat.faults.set({ kind: 'status', status: 500, method: 'POST', path: /\/services\/import/, times: importFailures });
  note('XNAT import 500', importFailures);
  const lateCommits = random.int(2, 4);
  xnat.faults.set({ kind: 'late-504', times: lateCommits, archiveDelayMs: BACKGROUND_ARCHIVE_MS });
  note('XNAT commit 504 while archiving goes on', lateCommits);
  return [...armed].map(([kind, n]) => `${kind}: ${n}`);
}
