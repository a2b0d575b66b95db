import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import got from 'got';
import { buildCollection } from '../../emulators/nbia/index.js';
import { writeTciaManifest } from '../support/run-cli.js';
import { FAST, PASSWORD, startWorld, type World } from '../support/world.js';

// One study of three series: A and C go into project OWNER, B is new.
const [A, B, C] = ['1.3.6.1.4.1.14519.5.2.1.11.1', '1.3.6.1.4.1.14519.5.2.1.11.2', '1.3.6.1.4.1.14519.5.2.1.11.3'] as [string, string, string];
type Row = { seriesUid: string; status: string; error: string };
let world: World;
afterEach(async () => world?.close());

/** Every file of the owner's session: scan, name and bytes. */
function ownerFiles(): string[] {
  return world.xnat.archive('OWNER').flatMap((s) => s.scans.flatMap((scan) => scan.files.map((f) => `${scan.id}/${f.name}/${f.bytes.toString('base64')}`)));
}

describe('a study whose session another project owns and shares into this one', () => {
  it('keeps the series it holds whole, fails the others with the reason, and neither sends into nor deletes from that session', async () => {
    const collection = buildCollection([A, B, C], { seriesPerStudy: 3, awkwardNames: false });
    world = await startWorld({ nbia: { collection }, xnat: { projects: [{ id: 'OWNER', owners: ['admin'] }, { id: 'BORROWER', owners: ['admin'] }] } });
    const own = await writeTciaManifest(world.out, 'owner.tcia', [A, C]);
    expect((await world.run(['import', own, '--project', 'OWNER', '--output-dir', world.out])).exitCode).toBe(0);
    const session = world.xnat.archive('OWNER')[0]!;
    // C's scan in the owner's session is left partial.
    const partial = session.scans.find((s) => s.seriesInstanceUid === C)!;
    const auth = { username: 'admin', password: PASSWORD };
    await got.delete(`${world.xnat.url}/data/experiments/${session.id}/scans/${partial.id}/resources/DICOM/files/${partial.files[0]!.name}`, auth);
    const shared = await got.put(`${world.xnat.url}/data/projects/OWNER/subjects/${session.subject}/experiments/${session.label}/projects/BORROWER`, { ...auth, searchParams: { label: 'BORROWED_1' } });
    expect(shared.statusCode).toBe(200);
    const before = ownerFiles();
    const requestsBefore = world.xnat.requests.length;
    const manifest = await writeTciaManifest(world.out, 'borrower.tcia', [A, B, C]);
    const reason = `session BORROWED_1 (${session.id}) belongs to project OWNER and is only shared into this one`;
    const advice = 'import this series into project OWNER, or ask an owner of OWNER to';

    const plan = await world.run(['import', manifest, '--project', 'BORROWER', '--dry-run', '--output-dir', world.out]);
    expect(plan.exitCode).toBe(1);
    expect(plan.stdout).toContain('2 series cannot be imported into another project\'s session');
    expect(plan.stdout).toContain(`${B} (BORROWED_1): ${reason}`);
    const csv = await readFile(join(world.out, 'latest', 'plan.csv'), 'utf8');
    expect(csv.split('\n').find((l) => l.startsWith(B))).toContain(advice);

    const result = await world.run(['import', manifest, '--project', 'BORROWER', '--output-dir', world.out, ...FAST]);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toContain(`${C} (BORROWED_1): ${reason}: its scan ${partial.id} holds ${partial.files.length - 1} of ${partial.files.length} files`);
    expect(result.stdout).toMatch(/summary: 0 imported into 0 session\(s\), 1 already in XNAT, 2 failed/);
    const rows = JSON.parse(await readFile(join(world.out, 'latest', 'report.json'), 'utf8')).series as Row[];
    expect(rows.map((r) => [r.seriesUid, r.status])).toEqual([[A, 'already-in-xnat'], [B, 'failed'], [C, 'failed']]);
    for (const r of rows.slice(1)) expect(r.error).toContain(advice);

    // Nothing was sent, nothing deleted: the owner's session is as it was, and the borrower holds no session of its own.
    const during = world.xnat.requests.slice(requestsBefore);
    expect(during.filter((r) => r.method === 'DELETE' || r.path === '/data/services/import')).toEqual([]);
    expect(ownerFiles()).toEqual(before);
    expect(world.xnat.archive('BORROWER')).toEqual([]);
    expect(world.xnat.prearchive('BORROWER')).toEqual([]);
  });
});
