/**
 * The settle loop of recoverLeftovers against the XNAT emulator: a prearchive session an interrupted run left
 * archiving in the background (a commit answered 504) is waited for, not committed again or deleted, and when the
 * wait runs out it is reported as busy.
 */
import { PassThrough, Readable } from 'node:stream';
import { startXnatEmulator, type XnatEmulator } from '../../emulators/xnat/index.js';
import { createRunLogger, type Logger } from '../../src/log.js';
import { recoverLeftovers } from '../../src/plan/recover-leftovers.js';
import type { SeriesMetadata } from '../../src/tcia/series-metadata.js';
import { XnatClient } from '../../src/xnat/xnat-client.js';
import { seriesFiles, spec, zipOf } from '../support/xnat-emulator-helpers.js';

const PROJECT = 'SETTLE';
const SOURCE = 'xnat-tcia-download';
const UID = '1.3.6.1.4.1.14519.5.2.1.99.1';
let emu: XnatEmulator;
let lines: string;
let xnat: XnatClient;
let logger: Logger;

beforeEach(async () => {
  emu = await startXnatEmulator({ users: [{ username: 'admin', password: 'admin', admin: true }], projects: [{ id: PROJECT, owners: ['admin'], prearchiveCode: 0 }] });
  const human = new PassThrough();
  lines = '';
  human.on('data', (chunk: Buffer) => (lines += chunk.toString()));
  ({ logger } = createRunLogger({ level: 'info', secrets: [], humanStream: human, color: false }));
  xnat = new XnatClient({ host: emu.url, user: 'admin', pass: 'admin', insecure: false, logger });
});
afterEach(async () => emu.close());

/** Uploads one series, then commits it while the proxy answers 504 and XNAT keeps archiving for `archiveMs`. */
async function leaveArchiving(archiveMs: number): Promise<{ metadata: Map<string, SeriesMetadata>; uri: string }> {
  const series = spec(UID, { seriesNumber: 1 });
  const zip = await zipOf(seriesFiles(series));
  const uri = await xnat.importZip({ project: PROJECT, subject: 'S1', session: 'S1', source: SOURCE }, Readable.from(zip), new AbortController().signal);
  emu.faults.commitTimeout(1, archiveMs);
  await expect(xnat.commit(uri, SOURCE)).rejects.toMatchObject({ status: 504 });
  expect(emu.prearchive(PROJECT).map((s) => s.status)).toEqual([expect.stringMatching(/ARCHIVING$/)]);
  const meta: SeriesMetadata = {
    seriesUid: UID, studyUid: series.studyUid, patientId: series.patientId, patientName: series.patientName, studyDate: '', modality: series.modality,
    seriesNumber: '1', seriesDescription: '', imageCount: series.imageCount, fileSize: 0, collection: '', license: '', licenseUri: '', dataDescriptionUri: '',
  };
  return { metadata: new Map([[UID, meta]]), uri };
}

/** Commits or deletes of prearchive sessions the tool sent (the leftover's own commit came before recovery). */
function changesAfter(count: number): string[] {
  return emu.requests.slice(count).filter((r) => r.method !== 'GET' && r.path.startsWith('/data/prearchive')).map((r) => `${r.method} ${r.path}`);
}

describe('recoverLeftovers: waiting for XNAT to settle', () => {
  it('waits while XNAT archives what an interrupted run committed, then leaves it archived', async () => {
    const { metadata } = await leaveArchiving(1_500);
    const before = emu.requests.length;
    const outcome = await recoverLeftovers(xnat, PROJECT, SOURCE, metadata, logger, { signal: new AbortController().signal, timeoutMs: 20_000, pollIntervalMs: 100 });
    expect(outcome).toEqual({ committed: [], committedSeries: new Set(), deleted: [], busy: new Map() });
    expect(lines).toMatch(/waiting for XNAT to finish 1 prearchive session\(s\) an interrupted run left: S1 (QUEUED_)?ARCHIVING/);
    expect(emu.prearchive(PROJECT)).toEqual([]);
    expect(emu.archive(PROJECT).map((s) => [s.label, s.scans.length])).toEqual([['S1', 1]]);
    // A session XNAT is archiving is never committed again nor deleted.
    expect(changesAfter(before)).toEqual([]);
  });

  it('reports a session still archiving when the wait runs out, and neither commits nor deletes it', async () => {
    const { metadata, uri } = await leaveArchiving(10_000);
    const before = emu.requests.length;
    const outcome = await recoverLeftovers(xnat, PROJECT, SOURCE, metadata, logger, { signal: new AbortController().signal, timeoutMs: 400, pollIntervalMs: 100 });
    expect(outcome.committed).toEqual([]);
    expect(outcome.deleted).toEqual([]);
    expect([...outcome.busy.keys()]).toEqual([metadata.get(UID)!.studyUid]);
    expect(outcome.busy.get(metadata.get(UID)!.studyUid)).toMatch(new RegExp(`XNAT was still working on prearchive session ${uri} \\((QUEUED_)?ARCHIVING\\)`));
    expect(emu.prearchive(PROJECT)).toHaveLength(1);
    expect(changesAfter(before)).toEqual([]);
  });
});
