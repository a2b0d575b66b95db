import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { EmulatedCommand, XnatEmulatorOptions } from '../../emulators/xnat/index.js';
import { buildCollection } from '../../emulators/dicom/synthetic-series.js';
import { startIdcEmulator, type IdcEmulator } from '../../emulators/idc/index.js';
import { PASSWORD, startWorld, type World } from '../support/world.js';

let world: World;
let idc: IdcEmulator | undefined;
afterEach(async () => {
  await world?.close();
  await idc?.close();
  idc = undefined;
});

const COMMAND: EmulatedCommand = {
  id: 7,
  name: 'xnat-tcia-download',
  version: '2.0.0',
  image: 'xnat-tcia-download:2.0.0',
  wrappers: [{ name: 'xnat-tcia-download-project', enabledForSite: true, enabledForProjects: ['READY'] }],
};
const USERS: XnatEmulatorOptions['users'] = [
  { username: 'admin', password: PASSWORD, admin: true },
  { username: 'carol', password: PASSWORD, canCreateProjects: false },
];

async function check(options: XnatEmulatorOptions, args: string[] = [], env: Record<string, string> = {}): Promise<{ code: number | null; lines: string[]; stdout: string; stderr: string }> {
  world = await startWorld({ xnat: { users: USERS, ...options } });
  const result = await world.run(['check', '--output-dir', world.out, ...args], { env });
  // Read-only: the only calls are GETs (the login included).
  expect(world.xnat.requests.filter((r) => r.method !== 'GET')).toEqual([]);
  expect(world.nbia.requests.every((r) => r.method === 'GET')).toBe(true);
  return { code: result.exitCode, lines: result.stdout.trim().split('\n'), stdout: result.stdout, stderr: result.stderr };
}

const line = (lines: string[], what: string): string => lines.find((l) => l.slice(2).startsWith(`${what}:`)) ?? `(no ${what} line)`;

describe('check: a read-only readiness checklist', () => {
  it('a ready setup: every line ✓, exit 0', async () => {
    const { code, lines, stderr } = await check({ projects: [{ id: 'READY', owners: ['admin'], prearchiveCode: 0 }], commands: [COMMAND] }, ['--project', 'READY']);
    expect(stderr).toBe('');
    expect(line(lines, 'XNAT')).toMatch(/^✓ XNAT: answers at http:\/\/127\.0\.0\.1:\d+, version 1\.9\.1$/);
    expect(line(lines, 'credentials')).toMatch(/^✓ credentials: logged in as admin, a site administrator/);
    expect(line(lines, 'rights')).toMatch(/^✓ rights: project READY exists; you can import/);
    expect(line(lines, 'prearchive')).toMatch(/^✓ prearchive: code 0 \(Manual\)/);
    expect(line(lines, 'anonymization')).toMatch(/^✓ anonymization: no anonymization script is enabled/);
    expect(line(lines, 'command')).toMatch(/^✓ command: xnat-tcia-download 2\.0\.0 registered/);
    expect(line(lines, 'wrapper')).toMatch(/^✓ wrapper: xnat-tcia-download-project enabled for the site and for READY/);
    expect(line(lines, 'TCIA')).toMatch(/^✓ TCIA: NBIA v4 at .* answers \(\d+ collections\)/);
    expect(line(lines, 'TCIA v1')).toMatch(/^✓ TCIA v1/);
    expect(line(lines, 'output folder')).toMatch(/^✓ output folder: .*writable, [\d.]+ GB free/);
    expect(line(lines, 'IDC')).toBe('- IDC: not used (--source nbia)');
    expect(lines.at(-1)).toBe('ready: an import into READY can work');
    expect(code).toBe(0);
  });

  it('IDC: the index and a bucket listing are checked; unreachable is a note in auto and a failure with --source idc', async () => {
    idc = await startIdcEmulator({ collection: buildCollection(['1.3.6.1.4.1.14519.5.2.1.9101'], { imagesPerSeries: [1, 1] }) });
    const ready = { projects: [{ id: 'IDCP', owners: ['admin'] }] };
    const here = await check(ready, ['--project', 'IDCP'], { XTD_SOURCE: 'auto', IDC_INDEX: idc.indexUrl, IDC_ENDPOINT: idc.url });
    expect(line(here.lines, 'IDC index')).toMatch(/^✓ IDC index: http:\/\/127\.0\.0\.1:\d+\/\S+tcia_idc_subset\.parquet answers \([\d.]+ [kKM]?B, ETag "/);
    expect(line(here.lines, 'IDC buckets')).toMatch(new RegExp(`^✓ IDC buckets: ${idc.url}/idc-open-data lists anonymously$`));
    expect(idc.requests.map((r) => r.method).every((m) => m === 'GET' || m === 'HEAD')).toBe(true);
    expect(here.code).toBe(0);
    await world.close();

    const gone = { IDC_INDEX: 'http://127.0.0.1:9/tcia_idc_subset.parquet', IDC_ENDPOINT: 'http://127.0.0.1:9' };
    const auto = await check(ready, ['--project', 'IDCP'], { XTD_SOURCE: 'auto', ...gone });
    expect(line(auto.lines, 'IDC index')).toMatch(/^! IDC index: .*cannot connect to IDC at 127\.0\.0\.1:9 .*until then every series comes from NBIA$/);
    expect(line(auto.lines, 'IDC buckets')).toMatch(/^! IDC buckets: /);
    expect(auto.code).toBe(0);
    await world.close();

    const only = await check(ready, ['--project', 'IDCP', '--source', 'idc'], gone);
    expect(line(only.lines, 'IDC index')).toMatch(/^✗ IDC index: .*→ check --idc-index \/ IDC_INDEX/);
    expect(only.lines.at(-1)).toBe('not ready: 2 problems to fix first');
    expect(only.code).toBe(1);
  });

  it('an alias token is recognised as its user', async () => {
    world = await startWorld({ xnat: { users: USERS, projects: [{ id: 'TOK', members: ['carol'] }] } });
    const token = world.xnat.issueAliasToken('carol');
    const result = await world.run(['check', '--project', 'TOK', '--output-dir', world.out], { env: { XNAT_USER: token.alias, XNAT_PASS: token.secret } });
    expect(result.stdout).toMatch(/✓ credentials: logged in as carol \(alias token of carol\)/);
    expect(result.stdout).toMatch(/✓ rights: project TOK exists; you can import and archive into it \(Members\); replacing a partial scan XNAT already holds needs an Owner/);
    expect(result.stdout).not.toContain(token.secret);
  });

  it('read-only rights, anonymization and a disabled wrapper: ✗ with the fix, ! notes, exit 1', async () => {
    const { code, lines } = await check(
      { projects: [{ id: 'RO', owners: ['admin'], collaborators: ['carol'] }], anonymization: { projects: ['RO'] }, commands: [{ ...COMMAND, wrappers: [{ name: 'xnat-tcia-download-project' }] }] },
      ['--project', 'RO'],
      { XNAT_USER: 'carol' },
    );
    expect(line(lines, 'rights')).toMatch(/^✗ rights: project RO exists, but you are in Collaborators, which is read-only.* → ask an owner of RO to make you a Member or Owner/);
    expect(line(lines, 'anonymization')).toMatch(/^! anonymization: project RO's anonymization script is enabled: XNAT rewrites every DICOM file.*TCIA's MD5/);
    expect(lines.at(-1)).toBe('not ready: 1 problem to fix first');
    expect(code).toBe(1);
  });

  it('a project that does not exist and that the user may not create', async () => {
    const { code, lines } = await check({ anonymization: { site: true } }, ['--project', 'NEWP'], { XNAT_USER: 'carol' });
    expect(line(lines, 'rights')).toMatch(/^✗ rights: project NEWP does not exist and only administrators may create projects here → ask an administrator/);
    expect(line(lines, 'anonymization')).toMatch(/^! anonymization: the site-wide anonymization script is enabled/);
    expect(line(lines, 'Container Service')).toMatch(/^! Container Service: not installed/);
    expect(code).toBe(1);
  });

  it('a project the user may create: exit 0', async () => {
    const { code, lines } = await check({}, ['--project', 'NEWP2'], { XNAT_USER: 'admin' });
    expect(line(lines, 'rights')).toMatch(/^✓ rights: project NEWP2 does not exist .*the import will create it/);
    expect(code).toBe(0);
  });

  it('inside a Container Service container the Container Service is not checked', async () => {
    const { lines } = await check({ projects: [{ id: 'INCS', owners: ['admin'] }] }, ['--project', 'INCS'], { XNAT_WORKFLOW_ID: '' });
    expect(line(lines, 'Container Service')).toMatch(/^- Container Service: running inside a container/);
  });

  it('wrong password, wrong scheme, wrong base URL: one ✗ line each naming the fix', async () => {
    const r = await check({}, ['--project', 'P'], { XNAT_PASS: 'wrong-password' });
    expect(line(r.lines, 'credentials')).toMatch(/^✗ credentials: XNAT rejected user 'admin' \(401\) → check XNAT_USER\/XNAT_PASS/);
    expect(r.code).toBe(1);
    await world.close();
    world = await startWorld();
    const url = world.xnat.url;
    for (const [host, message] of [
      [url.replace('http://', 'https://'), `this server does not speak HTTPS; did you mean ${url}?`],
      [`${url}/xnat`, `no XNAT answers at ${url}/xnat; check the base URL`],
    ] as const) {
      const result = await world.run(['check', '--project', 'P', '--output-dir', world.out], { env: { XNAT_HOST: host } });
      expect(result.stdout).toContain(message);
      expect(result.exitCode).toBe(1);
    }
  });

  it('TCIA unreachable and an output folder that cannot be written: ✗ each', async () => {
    world = await startWorld();
    const locked = join(world.out, 'locked');
    await mkdir(locked);
    await chmod(locked, 0o500);
    const result = await world.run(['check', '--project', 'P', '--output-dir', join(locked, 'out')], { env: { TCIA_URL: 'http://127.0.0.1:9' } });
    expect(result.stdout).toMatch(/✗ TCIA: NBIA v4 at http:\/\/127\.0\.0\.1:9: cannot connect/);
    if (process.getuid?.() !== 0) expect(result.stdout).toMatch(/✗ output folder: .*locked is not writable → pass --output-dir/);
    expect(result.exitCode).toBe(1);
  });

  it('bad usage is exit 2 before any request', async () => {
    world = await startWorld();
    const result = await world.run(['check', '--projet', 'P']);
    expect(result.stderr).toMatch(/unknown option --projet; did you mean --project\?/);
    expect(result.exitCode).toBe(2);
    const missing = await world.run(['check', '--project', 'P'], { env: { XNAT_USER: '' } });
    expect(missing.stderr).toMatch(/XNAT_USER is not set/);
    expect(missing.exitCode).toBe(2);
    const source = await world.run(['check', '--project', 'P'], { env: { XTD_SOURCE: 'idx' } });
    expect(source.stderr).toMatch(/XTD_SOURCE 'idx' is not one of auto, idc, nbia/);
    expect(source.exitCode).toBe(2);
    expect(world.xnat.requests).toEqual([]);
  });
});
