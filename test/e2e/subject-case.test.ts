import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildCollection } from '../../emulators/nbia/index.js';
import { writeTciaManifest } from '../support/run-cli.js';
import { FAST, startWorld, type World } from '../support/world.js';

// Two patients whose PatientNames differ only in case: the tool labels their subjects doe_john and DOE_JOHN.
const [A, B] = ['1.3.6.1.4.1.14519.5.2.1.13.1', '1.3.6.1.4.1.14519.5.2.1.13.2'] as [string, string];
let world: World;
afterEach(async () => world?.close());

describe('subject labels that differ only in case', () => {
  it('warns that XNAT files both patients under one subject, and the report names that subject', async () => {
    const collection = buildCollection([A, B], { seriesPerStudy: 1, studiesPerPatient: 1, awkwardNames: false }, {
      [A]: { patientName: 'doe^john', patientId: 'PAT-1' },
      [B]: { patientName: 'DOE^JOHN', patientId: 'PAT-2' },
    });
    world = await startWorld({ nbia: { collection }, xnat: { projects: [{ id: 'P', owners: ['admin'] }] } });
    const result = await world.run(['import', await writeTciaManifest(world.out, 'm.tcia', [A, B]), '--project', 'P', '--output-dir', world.out, ...FAST]);
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('WARN: subject labels DOE_JOHN, doe_john differ only in case (PatientID PAT-1, PAT-2): XNAT matches subject labels ignoring case');

    const sessions = world.xnat.archive('P');
    expect(sessions).toHaveLength(2);
    const [subject] = new Set(sessions.map((s) => s.subject));
    expect(sessions.map((s) => s.subject)).toEqual([subject, subject]);
    const rows = JSON.parse(await readFile(join(world.out, 'latest', 'report.json'), 'utf8')).series as { seriesUid: string; subject: string; status: string }[];
    expect(rows.map((r) => [r.seriesUid, r.subject, r.status])).toEqual([[A, subject, 'imported'], [B, subject, 'imported']]);
  });
});
