import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildCollection } from '../../emulators/nbia/index.js';
import { writeTciaManifest } from '../support/run-cli.js';
import { expectArchivedAsServed, startWorld, type World } from '../support/world.js';

// With an NBIA that has only v1 (no PatientName in its metadata), the plan still decides every subject label:
// the dry run shows the label the import then uses.
const UIDS = ['1.3.6.1.4.1.14519.5.2.1.7.11', '1.3.6.1.4.1.14519.5.2.1.7.12', '1.3.6.1.4.1.14519.5.2.1.7.21'];
const collection = buildCollection(UIDS, { seriesPerStudy: 2, studiesPerPatient: 1, awkwardNames: false }, { 'MSB-00002': { patientName: "O'BRIEN^ANN" } });
let world: World;
afterAll(async () => world?.close());

describe('subject labels from a v1-only NBIA', () => {
  it('are in the dry run, and the import lands under them', async () => {
    world = await startWorld({ nbia: { v4: false, collection } });
    const manifest = await writeTciaManifest(world.out, 'v1.tcia', UIDS);

    const dry = await world.run(['import', manifest, '--project', 'V1LABELS', '--dry-run', '--plan-table', '--output-dir', world.out]);
    expect(dry.stderr).toBe('');
    expect(dry.exitCode).toBe(0);
    expect(dry.stdout).toMatch(/no v4 API here; using v1/);
    // One row per series: UID, PatientID, subject, session.
    expect(dry.stdout).toMatch(new RegExp(`${UIDS[0]!.replace(/\./g, '\\.')}\\s+MSB-00001\\s+CRC_0001\\s+MSB-00001`));
    expect(dry.stdout).toMatch(new RegExp(`${UIDS[2]!.replace(/\./g, '\\.')}\\s+MSB-00002\\s+O_BRIEN_ANN\\s+MSB-00002`));
    const plan = await readFile(join(world.out, 'latest', 'plan.csv'), 'utf8');
    expect(plan).toContain(`${UIDS[2]},${collection[2]!.studyUid},MSB-00002,O_BRIEN_ANN,MSB-00002,`);
    expect(world.imports()).toBe(0);

    const run = await world.run(['import', manifest, '--project', 'V1LABELS', '--output-dir', world.out]);
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    expectArchivedAsServed(world, 'V1LABELS', UIDS);
    const subjects = Object.fromEntries(world.xnat.archive('V1LABELS').map((s) => [s.label, s.subject]));
    expect(subjects).toEqual({ 'MSB-00001': 'CRC_0001', 'MSB-00002': 'O_BRIEN_ANN' });
  });
});
