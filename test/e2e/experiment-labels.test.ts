import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import got from 'got';
import { writeTciaManifest } from '../support/run-cli.js';
import { expectArchivedAsServed, PASSWORD, startWorld, type World } from '../support/world.js';

const UIDS = ['1.3.6.1.4.1.14519.5.2.1.9.1', '1.3.6.1.4.1.14519.5.2.1.9.2'];
let world: World;
afterEach(async () => world?.close());

/** A non-image experiment (a subject variables form) under a subject, made through XNAT's REST API as a user would. */
async function putForm(project: string, subject: string, label: string): Promise<void> {
  const auth = { username: 'admin', password: PASSWORD };
  await got.put(`${world.xnat.url}/data/projects/${project}/subjects/${subject}`, auth);
  const made = await got.put(`${world.xnat.url}/data/projects/${project}/subjects/${subject}/experiments/${label}`, { ...auth, searchParams: { xsiType: 'xnat:subjectVariablesData' } });
  expect(made.statusCode).toBe(201);
}

describe('session labels and the other experiments of the project', () => {
  it('does not give a new study the label of a non-image experiment, which XNAT could never archive into', async () => {
    world = await startWorld({ xnat: { projects: [{ id: 'FORMS', owners: ['admin'] }] } });
    const manifest = await writeTciaManifest(world.out, 'forms.tcia', UIDS.slice(0, 1));
    expect((await world.run(['import', manifest, '--project', 'FORMS', '--dry-run', '--output-dir', world.out])).exitCode).toBe(0);
    const planned = JSON.parse(await readFile(join(world.out, 'latest', 'report.json'), 'utf8')).series[0] as { subject: string; session: string };
    await putForm('FORMS', planned.subject, planned.session);

    const result = await world.run(['import', manifest, '--project', 'FORMS', '--output-dir', world.out]);
    expect(result.exitCode).toBe(0);
    expectArchivedAsServed(world, 'FORMS', UIDS.slice(0, 1));
    const held = world.xnat.archive('FORMS');
    // The form keeps its label; the study took the next free one.
    expect(held.find((e) => e.label === planned.session)!.scans).toEqual([]);
    expect(held.find((e) => e.scans.length > 0)!.label).toBe(`${planned.session}_01`);
  });
});
