import { writeTciaManifest } from '../support/run-cli.js';
import { expectArchivedAsServed, PASSWORD, startWorld, type World } from '../support/world.js';

const UIDS = ['1.3.6.1.4.1.14519.5.2.1.9.1'];
let world: World;
afterEach(async () => world?.close());

describe('--project given as an alias of the project', () => {
  it('uses the project ID XNAT keys its prearchive and groups by, and says so', async () => {
    world = await startWorld({
      xnat: { users: [{ username: 'admin', password: PASSWORD, admin: true }, { username: 'olga', password: PASSWORD }], projects: [{ id: 'REALID', alias: ['NICK'], owners: ['olga'] }] },
    });
    const olga = { env: { XNAT_USER: 'olga' } };
    const check = await world.run(['check', '--project', 'NICK', '--output-dir', world.out], olga);
    expect(check.stdout).toMatch(/✓ project: NICK is an alias of project REALID/);
    expect(check.stdout).toMatch(/✓ rights: project REALID exists; you can import and archive into it \(Owners\)/);

    const manifest = await writeTciaManifest(world.out, 'alias.tcia', UIDS);
    const result = await world.run(['import', manifest, '--project', 'NICK', '--output-dir', world.out], olga);
    expect(result.stdout).toMatch(/project NICK is an alias of REALID; using its ID/);
    expect(result.exitCode).toBe(0);
    expectArchivedAsServed(world, 'REALID', UIDS);
    expect(world.xnat.projectExists('NICK')).toBe(false);
    expect(world.xnat.requests.filter((r) => r.path.startsWith('/data/prearchive/projects/NICK'))).toEqual([]);
  });
});

describe('--project naming a new ID that another project holds as its name or running title', () => {
  it('check says it cannot be created and names that project; the import stops before any upload, exit 2', async () => {
    world = await startWorld({ xnat: { projects: [{ id: 'OTHER', name: 'Lung Data', secondaryId: 'LUNG-DATA', owners: ['admin'] }] } });
    const check = await world.run(['check', '--project', 'lung-data', '--output-dir', world.out]);
    expect(check.stdout).toMatch(/✗ rights: project lung-data does not exist and cannot be created: .*\(OTHER\) → import into OTHER with --project OTHER/);
    expect(check.exitCode).toBe(1);

    const manifest = await writeTciaManifest(world.out, 'clash.tcia', UIDS);
    const result = await world.run(['import', manifest, '--project', 'lung-data', '--output-dir', world.out]);
    expect(result.stdout + result.stderr).toMatch(/XNAT will not create project lung-data: Requested new project conflicts with existing projects: OTHER/);
    expect(result.exitCode).toBe(2);
    expect(world.imports()).toBe(0);
    expect(world.xnat.projectExists('lung-data')).toBe(false);
  });
});
