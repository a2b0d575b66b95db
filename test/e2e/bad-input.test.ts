import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { latestReport, runCli, runFolders, tempDir, writeTciaManifest } from '../support/run-cli.js';
import { selfSignedCertificate, startTlsProxy } from '../support/tls-proxy.js';
import { FAST, PASSWORD, startWorld, type World } from '../support/world.js';

const GOOD = '1.3.6.1.4.1.14519.5.2.1.7.2001';
let world: World;
afterEach(async () => world?.close());

/** Everything a run could leak the password into. */
async function leakSurfaces(result: { stdout: string; stderr: string }, project: string): Promise<string[]> {
  const texts = [result.stdout, result.stderr];
  for (const dir of await runFolders(world.out)) {
    for (const name of ['run.log.jsonl', 'report.json', 'report.csv']) texts.push(await readFile(join(dir, name), 'utf8').catch(() => ''));
  }
  for (const resource of ['MANIFEST_ORIGINAL', 'MANIFEST_MODIFIED', 'TCIA_IMPORT_LOGS']) {
    for (const bytes of world.xnat.projectResource(project, resource)?.values() ?? []) texts.push(bytes.toString('latin1'));
  }
  return texts;
}

describe('unusable manifests: one clear line, exit 2, nothing imported', () => {
  it.each([
    ['empty.tcia', '', /manifest empty\.tcia is empty/],
    ['nomarker.tcia', 'downloadServerUrl=https://nbia.cancerimagingarchive.net/x\nmanifestVersion=3.0\n', /manifest nomarker\.tcia, no ListOfSeriesToDownload= line found/],
    ['binary.tcia', Buffer.from([0, 1, 2, 3, 0xff, 0xfe, 0, 0]), /is a binary file, not text/],
    ['nouid.csv', 'PatientID,StudyUID\nP1,1.2.3\n', /manifest nouid\.csv, CSV has no series UID column.*SeriesInstanceUID/],
    ['words.tcia', 'ListOfSeriesToDownload=\n1.2.3\nplease download these\n', /manifest words\.tcia, line 3: 'please download these' is not a SeriesInstanceUID/],
    // Blank lines count: the row named is the file's line.
    ['blanks.csv', 'SeriesInstanceUID\n\n1.2.3\n\nnot-a-uid\n', /manifest blanks\.csv, row 5: 'not-a-uid'/],
  ])('%s', async (name, content, message) => {
    world = await startWorld();
    const path = join(world.out, name);
    await writeFile(path, content);
    const result = await world.run(['import', path, '--project', 'BADIN', '--output-dir', world.out]);
    expect(result.exitCode).toBe(2);
    expect(result.stdout).toMatch(message);
    expect(world.imports()).toBe(0);
  });

  it('a missing manifest file', async () => {
    world = await startWorld();
    const result = await world.run(['import', join(world.out, 'nope.tcia'), '--project', 'BADIN', '--output-dir', world.out]);
    expect(result.exitCode).toBe(2);
    expect(result.stdout).toMatch(/cannot read manifest .*nope\.tcia: no such file/);
  });

  it('a bad manifest attaches nothing to XNAT and leaves the last good local report where it was', async () => {
    world = await startWorld({ xnat: { projects: [{ id: 'HASLOGS', owners: ['admin'] }] } });
    const good = await writeTciaManifest(world.out, 'good.tcia', [GOOD]);
    expect((await world.run(['import', good, '--project', 'HASLOGS', '--output-dir', world.out])).exitCode).toBe(0);
    const before = [...(world.xnat.projectResource('HASLOGS', 'TCIA_IMPORT_LOGS')?.keys() ?? [])];
    const resourceWrites = (): number => world.xnat.requests.filter((r) => r.method !== 'GET' && r.path.includes('/resources')).length;
    const writesBefore = resourceWrites();
    const path = join(world.out, 'empty.tcia');
    await writeFile(path, '');
    const result = await world.run(['import', path, '--project', 'HASLOGS', '--output-dir', world.out]);
    expect(result.exitCode).toBe(2);
    // The container's StdOut.log says why it stopped; TCIA_IMPORT_LOGS gains no folder for a run that did nothing.
    expect([...(world.xnat.projectResource('HASLOGS', 'TCIA_IMPORT_LOGS')?.keys() ?? [])]).toEqual(before);
    expect(resourceWrites()).toBe(writesBefore);
    // Locally the failed run keeps its own folder with its report, but `latest` still shows the good run.
    const latest = await latestReport<{ exitCode: number; series: unknown[] }>(world.out);
    expect(latest).toMatchObject({ exitCode: 0, series: [expect.anything()] });
    const folders = await runFolders(world.out);
    expect(folders).toHaveLength(2);
    expect(JSON.parse(await readFile(join(folders[1]!, 'report.json'), 'utf8'))).toMatchObject({ exitCode: 2, series: [] });
    expect(world.imports()).toBe(1);
  });
});

describe('series TCIA does not know', () => {
  it('all unknown: exit 1, nothing imported, each named in the report', async () => {
    const unknown = ['1.2.3.404.1', '1.2.3.404.2'];
    world = await startWorld({ nbia: { unknownUids: unknown } });
    const manifest = await writeTciaManifest(world.out, 'unknown.tcia', unknown);
    const result = await world.run(['import', manifest, '--project', 'UNKNOWN', '--output-dir', world.out]);
    expect(result.exitCode).toBe(1);
    expect(world.imports()).toBe(0);
    const report = JSON.parse(await readFile(join(world.out, 'latest', 'report.json'), 'utf8'));
    expect(report.series.map((r: { status: string }) => r.status)).toEqual(['unknown-at-tcia', 'unknown-at-tcia']);
    // Nothing to import means no project is created just to hold an empty result.
    expect(world.xnat.projectExists('UNKNOWN')).toBe(false);
  });
});

describe('XNAT problems', () => {
  it('a wrong password: exit 2, says so, and the password is nowhere', async () => {
    world = await startWorld();
    const manifest = await writeTciaManifest(world.out, 'm.tcia', [GOOD]);
    const wrong = `${PASSWORD}-wrong`;
    const result = await world.run(['import', manifest, '--project', 'AUTH', '--output-dir', world.out], { env: { XNAT_PASS: wrong } });
    expect(result.exitCode).toBe(2);
    expect(result.stdout).toMatch(/XNAT rejected the credentials of user 'admin' \(401\).*XNAT_USER\/XNAT_PASS/);
    for (const text of await leakSurfaces(result, 'AUTH')) expect(text).not.toContain(wrong);
  });

  it('an unreachable host and an unknown host name: exit 2 with the reason', async () => {
    world = await startWorld();
    const manifest = await writeTciaManifest(world.out, 'm.tcia', [GOOD]);
    const refused = await world.run(['import', manifest, '--project', 'NET', '--output-dir', world.out], { env: { XNAT_HOST: 'http://127.0.0.1:1' } });
    expect(refused.exitCode).toBe(2);
    expect(refused.stdout).toMatch(/cannot connect to XNAT at 127\.0\.0\.1:1 \(ECONNREFUSED\)/);
    // One message per mistake: the summary points at the error instead of repeating it.
    expect(`${refused.stdout}${refused.stderr}`.match(/cannot connect to XNAT/g)).toHaveLength(1);
    expect(refused.stdout).toMatch(/summary: nothing imported; exit 2: stopped on the error above/);
    const dns = await world.run(['import', manifest, '--project', 'NET', '--output-dir', world.out], { env: { XNAT_HOST: 'https://xnat.invalid' } });
    expect(dns.exitCode).toBe(2);
    expect(dns.stdout).toMatch(/cannot resolve XNAT host xnat\.invalid/);
  });

  it('a user who may not create projects: exit 2 with what to ask for', async () => {
    world = await startWorld({ xnat: { users: [{ username: 'admin', password: PASSWORD, canCreateProjects: false }] } });
    const manifest = await writeTciaManifest(world.out, 'm.tcia', [GOOD]);
    const result = await world.run(['import', manifest, '--project', 'NOCREATE', '--output-dir', world.out]);
    expect(result.exitCode).toBe(2);
    expect(result.stdout).toMatch(/may not create project NOCREATE \(403\).*ask an XNAT administrator/);
    expect(world.imports()).toBe(0);
  });

  it('a site-wide data admin in none of the project\'s groups is not stopped: XNAT lets that group commit anywhere', async () => {
    world = await startWorld({
      xnat: { users: [{ username: 'admin', password: PASSWORD, admin: true }, { username: 'curator', password: PASSWORD, allDataAdmin: true }], projects: [{ id: 'DATAADMIN', owners: ['admin'] }] },
    });
    const manifest = await writeTciaManifest(world.out, 'm.tcia', [GOOD]);
    const result = await world.run(['import', manifest, '--project', 'DATAADMIN', '--output-dir', world.out, ...FAST], { env: { XNAT_USER: 'curator' } });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).not.toMatch(/cannot import into project/);
    expect(world.xnat.archive('DATAADMIN')).toHaveLength(1);
  });

  it('a read-only member: stopped before any download with exit 2; a dry run only warns; when XNAT does not tell, XNAT decides', async () => {
    world = await startWorld({
      xnat: { users: [{ username: 'admin', password: PASSWORD, admin: true }, { username: 'reader', password: PASSWORD }], projects: [{ id: 'READONLY', owners: ['admin'], collaborators: ['reader'] }] },
    });
    const manifest = await writeTciaManifest(world.out, 'm.tcia', [GOOD]);
    const args = ['import', manifest, '--project', 'READONLY', '--output-dir', world.out, ...FAST];
    const reader = { env: { XNAT_USER: 'reader' } };
    const downloads = (): number => world.nbia.requests.filter((r) => /getImage/.test(r.path)).length;
    const result = await world.run(args, reader);
    expect(result.exitCode).toBe(2);
    expect(result.stdout).toMatch(/reader cannot import into project READONLY: you are in Collaborators, which is read-only.*ask an Owner of READONLY to make reader a Member or Owner/);
    expect(downloads()).toBe(0);
    expect(world.imports()).toBe(0);

    const dry = await world.run([...args, '--dry-run'], reader);
    expect(dry.exitCode).toBe(0);
    expect(dry.stdout).toMatch(/reader cannot import into project READONLY.*the import itself would stop here with exit 2/);

    // The groups listing does not answer: no refusal from the tool; XNAT refuses the commit itself.
    world.xnat.faults.set({ kind: 'status', status: 500, path: /\/xapi\/access\/projects/, times: Infinity });
    const unsure = await world.run(args, reader);
    expect(unsure.stdout).toMatch(/could not confirm that reader may archive into project READONLY \(this XNAT does not report your groups\)/);
    expect(unsure.exitCode).toBe(1);
    expect(unsure.stdout).toMatch(/failed: .*403/);
    expect(world.xnat.archive('READONLY')).toEqual([]);
  });

  it('an invalid project ID is refused before anything is sent', async () => {
    world = await startWorld();
    const manifest = await writeTciaManifest(world.out, 'm.tcia', [GOOD]);
    const result = await world.run(['import', manifest, '--project', 'bad id!', '--output-dir', world.out]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/project ID 'bad id!' is not valid .*letters, digits, _ and -/);
    expect(world.xnat.requests).toEqual([]);
  });

  it('a self-signed certificate: refused with the fix named; --insecure and NODE_EXTRA_CA_CERTS both work', async () => {
    world = await startWorld();
    const certs = selfSignedCertificate(await tempDir('xtd-tls-'));
    const proxy = await startTlsProxy(world.xnat.url, certs);
    try {
      const manifest = await writeTciaManifest(world.out, 'm.tcia', [GOOD]);
      const args = ['import', manifest, '--project', 'TLS', '--output-dir', world.out];
      const refused = await world.run(args, { env: { XNAT_HOST: proxy.url } });
      expect(refused.exitCode).toBe(2);
      expect(refused.stdout).toMatch(/TLS certificate of XNAT .* is not trusted .*NODE_EXTRA_CA_CERTS.*--insecure/);
      expect((await world.run([...args, '--insecure'], { env: { XNAT_HOST: proxy.url } })).exitCode).toBe(0);
      expect((await world.run(args, { env: { XNAT_HOST: proxy.url, NODE_EXTRA_CA_CERTS: certs.certPath } })).exitCode).toBe(0);
    } finally {
      await proxy.close();
    }
  });
});

describe('local output problems', () => {
  it('an output folder that cannot be created: exit 2 before anything is sent', async () => {
    world = await startWorld();
    const manifest = await writeTciaManifest(world.out, 'm.tcia', [GOOD]);
    const result = await world.run(['import', manifest, '--project', 'OUT', '--output-dir', '/dev/null/reports']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/output directory \/dev\/null\/reports is not writable/);
    expect(world.xnat.requests).toEqual([]);
  });

  it('launched by the Container Service, an output mount it cannot write: records go to a temporary folder and to the project', async () => {
    world = await startWorld();
    const manifest = await writeTciaManifest(world.out, 'm.tcia', [GOOD]);
    const tmp = join(world.out, 'tmp');
    await mkdir(tmp);
    // XNAT_WORKFLOW_ID is what the Container Service injects; /dev/null/output stands for a mount only XNAT's user may write.
    const result = await world.run(['import', manifest, '--project', 'CSOUT', '--output-dir', '/dev/null/output'], { env: { XNAT_WORKFLOW_ID: '1234', TMPDIR: tmp } });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/WARN: the output folder \/dev\/null\/output is not writable by this container's user \(ENOTDIR\); the run's local records go to .*tmp\/xnat-tcia-download-output inside the container; a run that changes something in XNAT attaches them/);
    expect(JSON.parse(await readFile(join(tmp, 'xnat-tcia-download-output', 'latest', 'report.json'), 'utf8')).exitCode).toBe(0);
    expect([...(world.xnat.projectResource('CSOUT', 'TCIA_IMPORT_LOGS')?.keys() ?? [])].some((k) => k.endsWith('report.json'))).toBe(true);
  });

  it('a full disk while writing the report: said plainly, exit 1, and the report still reaches XNAT', async () => {
    world = await startWorld();
    const manifest = await writeTciaManifest(world.out, 'm.tcia', [GOOD]);
    const out = join(world.out, 'full');
    await mkdir(out);
    let full: Promise<void> | undefined;
    // Once planning is under way the run's folder exists: its report.json is made to land on a full disk.
    const result = await world.run(['import', manifest, '--project', 'FULL', '--output-dir', out], {
      onStdout: (text) => {
        if (!full && text.includes('plan:')) full = runFolders(out).then(([dir]) => symlink('/dev/full', join(dir!, 'report.json')));
      },
    });
    await full;
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toMatch(/could not write the report to .*ENOSPC/);
    expect(world.xnat.archive('FULL')).toHaveLength(1);
    expect([...(world.xnat.projectResource('FULL', 'TCIA_IMPORT_LOGS')?.keys() ?? [])].some((k) => k.endsWith('report.json'))).toBe(true);
  });
});

describe('plain usage errors', () => {
  it('no credentials: exit 2 naming the variables', async () => {
    const result = await runCli(['import', 'x.tcia', '--project', 'P', '--xnat-host', 'https://x.org']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/no XNAT user given: XNAT_USER is not set \(set XNAT_USER/);
  });
  it('an unknown option: exit 2 with usage', async () => {
    const result = await runCli(['import', 'x.tcia', '--project', 'P', '--bogus']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/unknown option --bogus/);
  });
});
