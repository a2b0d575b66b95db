import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import archiver from 'archiver';
import got from 'got';
import { buildCollection } from '../../emulators/nbia/index.js';
import { writeTciaManifest } from '../support/run-cli.js';
import { expectArchivedAsServed, FAST, PASSWORD, startWorld, type World } from '../support/world.js';

// Two series of one study, and another study of the same patient under the manifest's nose.
const UIDS = ['1.3.6.1.4.1.14519.5.2.1.13.1', '1.3.6.1.4.1.14519.5.2.1.13.2'];
const OTHER_STUDY = '1.3.6.1.4.1.14519.5.2.1.13.99';
let world: World;
afterEach(async () => world?.close());

async function start(): Promise<string> {
  const collection = buildCollection([...UIDS, OTHER_STUDY], { seriesPerStudy: 2, studiesPerPatient: 2, awkwardNames: false, modalities: ['CT'] });
  world = await startWorld({ nbia: { collection } });
  return writeTciaManifest(world.out, 'settle.tcia', UIDS);
}

async function report(): Promise<{ series: { seriesUid: string; status: string; error: string }[] }> {
  return JSON.parse(await readFile(join(world.out, 'latest', 'report.json'), 'utf8'));
}

/** Archives files into the project behind the tool's back, in a prearchive entry of their own (a fixed dest). */
async function archiveBehindTheTool(project: string, subject: string, label: string, files: { name: string; bytes: Buffer }[]): Promise<void> {
  const zip = archiver('zip', { store: true });
  for (const f of files) zip.append(f.bytes, { name: f.name });
  void zip.finalize();
  const auth = { username: 'admin', password: PASSWORD };
  const uri = await got.post(`${world.xnat.url}/data/services/import`, {
    ...auth,
    searchParams: { 'import-handler': 'DICOM-zip', PROJECT_ID: project, SUBJECT_ID: subject, EXPT_LABEL: label, dest: `/prearchive/projects/${project}/20200101_000000000/${label}_other` },
    headers: { 'content-type': 'application/zip' },
    body: zip,
  }).text();
  await got.post(`${world.xnat.url}${uri.trim()}`, { ...auth, searchParams: { action: 'commit', AA: 'true' }, followRedirect: false, throwHttpErrors: false });
}

describe('an archive an interrupted run left running in XNAT', () => {
  it('is waited for before planning, so the study is neither sent again nor left in CONFLICT', async () => {
    const manifest = await start();
    // The commit answers 504 while XNAT keeps archiving for 15 s; the run is killed right then.
    world.xnat.faults.set({ kind: 'late-504', times: 1, archiveDelayMs: 15000 });
    const first = await world.run(['import', manifest, '--project', 'SETTLE', '--output-dir', world.out, ...FAST], {
      onStdout: (text, kill) => /commit answer lost/.test(text) && kill('SIGKILL'),
    });
    expect(first.signal).toBe('SIGKILL');
    expect(world.xnat.prearchive('SETTLE').map((s) => s.status)).toEqual(['QUEUED_ARCHIVING']);
    const importsBefore = world.imports();

    const again = await world.run(['import', manifest, '--project', 'SETTLE', '--output-dir', world.out, ...FAST]);
    expect(again.stderr).toBe('');
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toMatch(/waiting for XNAT to finish 1 prearchive session\(s\) an interrupted run left: \S+ (QUEUED_)?ARCHIVING/);
    expect(world.imports()).toBe(importsBefore);
    expect((await report()).series.map((r) => r.status)).toEqual(['already-in-xnat', 'already-in-xnat']);
    expect(world.xnat.archive('SETTLE')).toHaveLength(1);
    expectArchivedAsServed(world, 'SETTLE', UIDS);
  });
});

describe('a commit XNAT refuses as a conflict', () => {
  // The first commit is lost at the proxy (503), so the tool polls; meanwhile the same label is archived elsewhere.
  async function raceCommit(uploadBehind: (subject: string, label: string) => Promise<void>): Promise<Awaited<ReturnType<World['run']>>> {
    const manifest = await start();
    world.xnat.faults.set({ kind: 'status', status: 503, method: 'POST', path: /action=commit/ });
    let raced: Promise<void> | undefined;
    const result = await world.run(['import', manifest, '--project', 'RACE', '--output-dir', world.out, ...FAST, '--poll-interval', '3'], {
      onStdout: (text) => {
        if (raced || !/commit answer lost/.test(text)) return;
        const mine = world.xnat.prearchive('RACE')[0]!;
        raced = uploadBehind(mine.subject, mine.name);
      },
    });
    await raced;
    return result;
  }

  it('counts series the archive already holds complete as imported and removes the duplicate prearchive session', async () => {
    const result = await raceCommit(async (subject, label) => {
      const files = world.xnat.prearchive('RACE')[0]!.scans.flatMap((scan) => scan.files.map((f) => ({ name: f.name, bytes: f.bytes })));
      await archiveBehindTheTool('RACE', subject, label, files);
    });
    expect(result.stdout).toMatch(/Session already exists with matching files/);
    expect(result.stdout).toMatch(/already holds 2 of these 2 series complete/);
    expect(result.exitCode).toBe(0);
    expect((await report()).series.map((r) => r.status)).toEqual(['imported', 'imported']);
    expectArchivedAsServed(world, 'RACE', UIDS);
  });

  it('stays a failure with XNAT\'s message when the label holds another StudyInstanceUID', async () => {
    const result = await raceCommit(async (subject, label) => {
      const files = Array.from({ length: world.nbia.spec(OTHER_STUDY)!.imageCount }, (_, i) => ({ name: `${i + 1}.dcm`, bytes: world.nbia.instance(OTHER_STUDY, i) }));
      await archiveBehindTheTool('RACE', subject, label, files);
    });
    expect(result.exitCode).toBe(1);
    const rows = (await report()).series;
    expect(rows.map((r) => r.status)).toEqual(['failed', 'failed']);
    expect(rows[0]!.error).toMatch(/commit of session \S+ failed: .*Invalid modification of session UID via archive process/);
    expect(world.xnat.archive('RACE').map((s) => s.studyInstanceUid)).toEqual([world.nbia.spec(OTHER_STUDY)!.studyUid]);
  });
});

describe('a whole leftover that holds only part of a study of several modalities', () => {
  it('is sent again with the rest of the study rather than committed alone, which XNAT could not merge later', async () => {
    const collection = buildCollection(UIDS, { seriesPerStudy: 2, studiesPerPatient: 1, awkwardNames: false, modalities: ['CT'] }, { [UIDS[1]!]: { modality: 'RTSTRUCT', imageCount: 1 } });
    world = await startWorld({ nbia: { collection }, xnat: { projects: [{ id: 'MIXED', owners: ['admin'] }] } });
    const manifest = await writeTciaManifest(world.out, 'mixed.tcia', UIDS);
    await world.run(['import', manifest, '--project', 'MIXED', '--dry-run', '--output-dir', world.out]);
    const planned = (await report()).series[0] as unknown as { subject: string; session: string };
    // The CT series arrived whole before the run died; the RTSTRUCT never left.
    const ct = world.nbia.spec(UIDS[0]!)!;
    const zip = archiver('zip', { store: true });
    for (let i = 0; i < ct.imageCount; i += 1) zip.append(world.nbia.instance(UIDS[0]!, i), { name: `${i + 1}.dcm` });
    void zip.finalize();
    await got.post(`${world.xnat.url}/data/services/import`, {
      username: 'admin', password: PASSWORD, headers: { 'content-type': 'application/zip' }, body: zip,
      searchParams: { 'import-handler': 'DICOM-zip', PROJECT_ID: 'MIXED', SUBJECT_ID: planned.subject, EXPT_LABEL: planned.session, prevent_auto_commit: 'true', SOURCE: 'xnat-tcia-download' },
    });
    const result = await world.run(['import', manifest, '--project', 'MIXED', '--output-dir', world.out, ...FAST]);
    expect(result.stdout).toMatch(/deleted incomplete prearchive session/);
    expect(result.exitCode).toBe(0);
    expectArchivedAsServed(world, 'MIXED', UIDS);
  });
});

describe('a series XNAT will not merge into the session archived before it', () => {
  it('fails with XNAT\'s message and its refused entry stays in the prearchive for a manual merge', async () => {
    // One study: an MR series and a CT series. The CT series alone was imported first, so XNAT holds a CT session.
    const collection = buildCollection(UIDS, { seriesPerStudy: 2, studiesPerPatient: 1, awkwardNames: false, modalities: ['MR'] }, { [UIDS[1]!]: { modality: 'CT' } });
    world = await startWorld({ nbia: { collection }, xnat: { projects: [{ id: 'MERGE', owners: ['admin'] }] } });
    const ctOnly = await writeTciaManifest(world.out, 'ct.tcia', [UIDS[1]!]);
    expect((await world.run(['import', ctOnly, '--project', 'MERGE', '--output-dir', world.out, ...FAST])).exitCode).toBe(0);
    const both = await writeTciaManifest(world.out, 'both.tcia', UIDS);
    const result = await world.run(['import', both, '--project', 'MERGE', '--output-dir', world.out, ...FAST]);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toMatch(/left prearchive session \S+ for a manual merge: .*Invalid modification of session modality/);
    const rows = (await report()).series;
    expect(rows.find((r) => r.seriesUid === UIDS[0])).toMatchObject({ status: 'failed', error: expect.stringMatching(/Invalid modification of session modality/) });
    expect(rows.find((r) => r.seriesUid === UIDS[1])?.status).toBe('already-in-xnat');
    // The MR series waits in the prearchive, whole, for the admin.
    const left = world.xnat.prearchive('MERGE');
    expect(left).toHaveLength(1);
    expect(left[0]!.scans.map((s) => [s.seriesInstanceUid, s.files.length])).toEqual([[UIDS[0], world.nbia.spec(UIDS[0]!)!.imageCount]]);
  });
});
