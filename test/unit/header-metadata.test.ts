import { Writable } from 'node:stream';
import pino from 'pino';
import { buildCollection, startNbiaEmulator, type NbiaEmulator } from '../../emulators/nbia/index.js';
import { buildPlan } from '../../src/plan/build-plan.js';
import { withHeaderNames } from '../../src/plan/header-metadata.js';
import { NbiaClient } from '../../src/tcia/nbia-client.js';

// Reading PatientName from one file per study when NBIA's metadata (v1) has none, over real HTTP on loopback.
const UIDS = ['1.2.826.0.1.3680043.8.498.101', '1.2.826.0.1.3680043.8.498.102', '1.2.826.0.1.3680043.8.498.201', '1.2.826.0.1.3680043.8.498.202'];
const collection = buildCollection(UIDS, { seriesPerStudy: 2, studiesPerPatient: 1, awkwardNames: false }, { 'MSB-00002': { patientName: "O'BRIEN^ANN" } });
const [first, , second] = collection;

let nbia: NbiaEmulator;
let lines: string[];

beforeEach(async () => {
  nbia = await startNbiaEmulator({ v4: false, collection });
  lines = [];
});
afterEach(async () => nbia.close());

function setup(attempts = 3): { client: NbiaClient; logger: pino.Logger } {
  const sink = new Writable({
    write: (chunk: Buffer, _encoding, done) => {
      lines.push(String(chunk));
      done();
    },
  });
  const logger = pino({ level: 'info' }, sink);
  return { client: new NbiaClient({ root: nbia.url, logger, stallTimeoutMs: 5000, attempts }), logger };
}

const singleImages = (): string[] => nbia.requests.filter((r) => r.path.endsWith('/getSingleImage')).map((r) => r.query.SeriesInstanceUID!);

describe('withHeaderNames', () => {
  it('gives every series of a study the PatientName of one file header, one file per study', async () => {
    const { client, logger } = setup();
    const metadata = await client.seriesMetadata(UIDS);
    expect(client.version).toBe('v1');
    expect(metadata.get(UIDS[0]!)!.patientName).toBeUndefined();
    const named = await withHeaderNames(client, metadata, { logger });
    expect(UIDS.map((uid) => named.get(uid)!.patientName)).toEqual(['CRC^0001', 'CRC^0001', "O'BRIEN^ANN", "O'BRIEN^ANN"]);
    expect(singleImages()).toHaveLength(2);
    const plan = buildPlan(UIDS, named, { sessions: [], labels: [], scans: new Map() });
    expect(plan.studies.map((s) => s.subject).sort()).toEqual(['CRC_0001', 'O_BRIEN_ANN']);
  });

  it('reads no header for a study XNAT already holds, nor when the metadata has a PatientName', async () => {
    const { client, logger } = setup();
    const metadata = await client.seriesMetadata(UIDS);
    const named = await withHeaderNames(client, metadata, { logger, skipStudies: new Set([first!.studyUid]) });
    expect(named.get(UIDS[0]!)!.patientName).toBeUndefined();
    expect(singleImages()).toEqual([UIDS[2]]);
    const withNames = new Map([...named].map(([uid, meta]) => [uid, { ...meta, patientName: meta.patientName ?? 'GIVEN' }]));
    await withHeaderNames(client, withNames, { logger });
    expect(singleImages()).toHaveLength(1);
  });

  it('retries a file NBIA fails to send, as the client retries metadata', async () => {
    const { client, logger } = setup();
    const metadata = await client.seriesMetadata(UIDS);
    nbia.faults.set({ failFirst: { endpoint: 'getSingleImage', seriesUid: UIDS[2], status: 503, count: 1 } });
    const named = await withHeaderNames(client, metadata, { logger });
    expect(named.get(UIDS[3]!)!.patientName).toBe("O'BRIEN^ANN");
    expect(singleImages().filter((uid) => uid === UIDS[2])).toHaveLength(2);
  });

  it('without any readable header, warns and leaves the name out, so the plan labels the subject with the PatientID', async () => {
    const { client, logger } = setup(2);
    const metadata = await client.seriesMetadata(UIDS);
    nbia.faults.set({ failFirst: { endpoint: 'getSingleImage', seriesUid: UIDS[2], status: 500, count: Infinity } });
    nbia.faults.add({ failFirst: { endpoint: 'getSingleImage', seriesUid: UIDS[3], status: 404, count: Infinity } });
    const named = await withHeaderNames(client, metadata, { logger });
    expect(named.get(UIDS[2]!)!.patientName).toBeUndefined();
    expect(named.get(UIDS[0]!)!.patientName).toBe('CRC^0001');
    // The 500 is retried (2 attempts), the 404 is not; then the study's other series is tried.
    expect(singleImages().filter((uid) => uid !== UIDS[0] && uid !== UIDS[1])).toEqual([UIDS[2], UIDS[2], UIDS[3]]);
    expect(lines.join('')).toContain(`study ${second!.studyUid}: no file header to read PatientName from`);
    const plan = buildPlan(UIDS, named, { sessions: [], labels: [], scans: new Map() });
    expect(plan.studies.find((s) => s.studyUid === second!.studyUid)!.subject).toBe('MSB-00002');
  });
});
