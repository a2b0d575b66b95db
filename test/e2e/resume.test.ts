import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import archiver from 'archiver';
import got from 'got';
import { buildCollection } from '../../emulators/nbia/index.js';
import { writeTciaManifest } from '../support/run-cli.js';
import { expectArchivedAsServed, FAST, PASSWORD, startWorld, type World } from '../support/world.js';

const UIDS = ['1.3.6.1.4.1.14519.5.2.1.9.1', '1.3.6.1.4.1.14519.5.2.1.9.2', '1.3.6.1.4.1.14519.5.2.1.9.3', '1.3.6.1.4.1.14519.5.2.1.9.4'];
let world: World;
afterEach(async () => world?.close());

/**
 * What an interrupted run leaves behind: the first `files` instances of a series in the prearchive, uncommitted;
 * with `cutLast`, the last of them only as far as XNAT had written it when the upload broke off.
 */
async function leaveInPrearchive(project: string, uid: string, files: number, subject: string, session: string, cutLast = false): Promise<void> {
  const zip = archiver('zip', { store: true });
  for (let i = 0; i < files; i += 1) {
    const bytes = world.nbia.instance(uid, i);
    zip.append(cutLast && i === files - 1 ? bytes.subarray(0, Math.floor(bytes.length * 0.6)) : bytes, { name: `${String(i + 1).padStart(8, '0')}.dcm` });
  }
  void zip.finalize();
  await got.post(`${world.xnat.url}/data/services/import`, {
    searchParams: { 'import-handler': 'DICOM-zip', PROJECT_ID: project, SUBJECT_ID: subject, EXPT_LABEL: session, overwrite: 'append', prevent_auto_commit: 'true', SOURCE: 'xnat-tcia-download' },
    headers: { 'content-type': 'application/zip' },
    username: 'admin',
    password: PASSWORD,
    body: zip,
  });
}

/** A one-series project whose series an interrupted run left whole (or with its last file cut) in the prearchive. */
async function oneSeriesLeftover(project: string, uids: string[], cutLast = false): Promise<string> {
  world = await startWorld({ nbia: { collection: buildCollection(uids, { seriesPerStudy: 1, awkwardNames: false }) }, xnat: { projects: [{ id: project, owners: ['admin'] }] } });
  const manifest = await writeTciaManifest(world.out, `${project}.tcia`, uids);
  await world.run(['import', manifest, '--project', project, '--dry-run', '--output-dir', world.out]);
  const planned = JSON.parse(await readFile(join(world.out, 'latest', 'report.json'), 'utf8')).series[0] as { subject: string; session: string };
  await leaveInPrearchive(project, uids[0]!, world.nbia.spec(uids[0]!)!.imageCount, planned.subject, planned.session, cutLast);
  return manifest;
}

describe('resuming from what XNAT holds', () => {
  it('commits a whole leftover, redoes a partial one, and sends nothing twice', async () => {
    // Two studies of two series each.
    const collection = buildCollection(UIDS, { seriesPerStudy: 2, studiesPerPatient: 1, awkwardNames: false });
    world = await startWorld({ nbia: { collection }, xnat: { projects: [{ id: 'RESUME', owners: ['admin'] }] } });
    const manifest = await writeTciaManifest(world.out, 'resume.tcia', UIDS);
    const plan = await world.run(['import', manifest, '--project', 'RESUME', '--dry-run', '--output-dir', world.out]);
    expect(plan.exitCode).toBe(0);
    const planned = JSON.parse(await readFile(join(world.out, 'latest', 'report.json'), 'utf8')).series as { seriesUid: string; subject: string; session: string }[];
    const where = (uid: string): { subject: string; session: string } => planned.find((r) => r.seriesUid === uid)!;
    const count = (uid: string): number => world.nbia.spec(uid)!.imageCount;

    // Study A: its first series arrived whole before the run died. Study B: its first series was cut short.
    await leaveInPrearchive('RESUME', UIDS[0]!, count(UIDS[0]!), where(UIDS[0]!).subject, where(UIDS[0]!).session);
    await leaveInPrearchive('RESUME', UIDS[2]!, count(UIDS[2]!) - 2, where(UIDS[2]!).subject, where(UIDS[2]!).session);
    expect(world.xnat.prearchive('RESUME')).toHaveLength(2);
    const importsBefore = world.imports();

    const result = await world.run(['import', manifest, '--project', 'RESUME', '--output-dir', world.out, ...FAST]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/committed .* left in the prearchive by an interrupted run/);
    expect(result.stdout).toMatch(/deleted incomplete prearchive session/);
    expectArchivedAsServed(world, 'RESUME', UIDS);
    // The whole leftover was committed, not sent again: three series travelled, not four.
    expect(world.imports() - importsBefore).toBe(3);
  });

  it('a whole leftover committed by a rerun is reported as imported, and the rerun attaches its records', async () => {
    const uids = UIDS.slice(0, 1);
    const manifest = await oneSeriesLeftover('LEFT', uids);
    const importsBefore = world.imports();

    const result = await world.run(['import', manifest, '--project', 'LEFT', '--output-dir', world.out, ...FAST]);
    expect(result.exitCode).toBe(0);
    expect(world.imports()).toBe(importsBefore);
    expectArchivedAsServed(world, 'LEFT', uids);
    const report = JSON.parse(await readFile(join(world.out, 'latest', 'report.json'), 'utf8')) as { series: { status: string }[]; totals: { imported: number } };
    expect(report.series.map((r) => r.status)).toEqual(['imported']);
    expect(report.totals.imported).toBe(1);
    expect([...(world.xnat.projectResource('LEFT', 'TCIA_IMPORT_LOGS')?.keys() ?? [])]).toEqual(expect.arrayContaining([expect.stringMatching(/report\.json$/)]));
  });

  it('a leftover whose last file XNAT kept cut short is not committed: it is deleted and the series sent again', async () => {
    const uids = UIDS.slice(0, 1);
    // Every file is there, so the count alone would pass it; the last one holds 60 % of its bytes.
    const manifest = await oneSeriesLeftover('CUT', uids, true);

    const result = await world.run(['import', manifest, '--project', 'CUT', '--output-dir', world.out, ...FAST]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).not.toMatch(/committed .* left in the prearchive by an interrupted run/);
    expect(result.stdout).toMatch(/deleted incomplete prearchive session/);
    expectArchivedAsServed(world, 'CUT', uids);
  });

  it('replaces a scan XNAT archived with fewer files than TCIA lists', async () => {
    world = await startWorld();
    const manifest = await writeTciaManifest(world.out, 'partial.tcia', UIDS.slice(0, 2));
    expect((await world.run(['import', manifest, '--project', 'PARTIAL', '--output-dir', world.out])).exitCode).toBe(0);
    // Drop two files from one archived scan, as a half-finished archive would have left it.
    const session = world.xnat.archive('PARTIAL').find((s) => s.scans.some((x) => x.seriesInstanceUid === UIDS[0]))!;
    const scan = session.scans.find((x) => x.seriesInstanceUid === UIDS[0])!;
    for (const file of scan.files.slice(0, 2)) {
      await got.delete(`${world.xnat.url}/data/experiments/${session.id}/scans/${scan.id}/resources/DICOM/files/${file.name}`, { username: 'admin', password: PASSWORD });
    }
    expect(world.xnat.archive('PARTIAL').flatMap((s) => s.scans).find((x) => x.seriesInstanceUid === UIDS[0])!.files.length).toBe(scan.files.length - 2);

    const again = await world.run(['import', manifest, '--project', 'PARTIAL', '--output-dir', world.out, ...FAST]);
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toMatch(/holds \d+ of \d+ files; replacing it/);
    expectArchivedAsServed(world, 'PARTIAL', UIDS.slice(0, 2));
  });

  it('a Member cannot replace a partial scan: that series fails naming who can, the others go in; an Owner then completes it', async () => {
    world = await startWorld({ xnat: { users: [{ username: 'admin', password: PASSWORD, admin: true }, { username: 'mia', password: PASSWORD }], projects: [{ id: 'MEMBERS', owners: ['admin'], members: ['mia'] }] } });
    const manifest = await writeTciaManifest(world.out, 'members.tcia', UIDS.slice(0, 1));
    expect((await world.run(['import', manifest, '--project', 'MEMBERS', '--output-dir', world.out])).exitCode).toBe(0);
    const session = world.xnat.archive('MEMBERS')[0]!;
    const scan = session.scans[0]!;
    await got.delete(`${world.xnat.url}/data/experiments/${session.id}/scans/${scan.id}/resources/DICOM/files/${scan.files[0]!.name}`, { username: 'admin', password: PASSWORD });
    const both = await writeTciaManifest(world.out, 'members2.tcia', UIDS.slice(0, 2));

    const member = await world.run(['import', both, '--project', 'MEMBERS', '--output-dir', world.out, ...FAST], { env: { XNAT_USER: 'mia' } });
    expect(member.exitCode).toBe(1);
    expect(member.stdout).toContain(`an Owner of project MEMBERS must delete scan ${scan.id} of session ${session.label}, or run as an Owner`);
    expectArchivedAsServed(world, 'MEMBERS', UIDS.slice(1, 2));
    expect(world.xnat.archive('MEMBERS').flatMap((s) => s.scans).find((x) => x.seriesInstanceUid === UIDS[0])!.files).toHaveLength(scan.files.length - 1);

    expect((await world.run(['import', both, '--project', 'MEMBERS', '--output-dir', world.out, ...FAST])).exitCode).toBe(0);
    expectArchivedAsServed(world, 'MEMBERS', UIDS.slice(0, 2));
  });

  it('streams files too large to hold (over 16 MB each) in a form XNAT\'s zip reader accepts', async () => {
    // 3072×3072 16-bit frames: 18.9 MB per file, above the size the relay holds in memory.
    world = await startWorld({ nbia: { shape: { imagesPerSeries: [2, 2], rows: 3072, columns: 3072 } } });
    const manifest = await writeTciaManifest(world.out, 'large.tcia', UIDS.slice(0, 1));
    const result = await world.run(['import', manifest, '--project', 'LARGE', '--output-dir', world.out]);
    expect(result.exitCode).toBe(0);
    expectArchivedAsServed(world, 'LARGE', UIDS.slice(0, 1));
    expect(world.xnat.archive('LARGE')[0]!.scans[0]!.files[0]!.bytes.length).toBeGreaterThan(16 * 1024 * 1024);
  });

  it('archives into a Manual (prearchive code 0) project too', async () => {
    world = await startWorld({ xnat: { projects: [{ id: 'MANUAL', owners: ['admin'], prearchiveCode: 0 }] } });
    const manifest = await writeTciaManifest(world.out, 'manual.tcia', UIDS.slice(0, 2));
    const result = await world.run(['import', manifest, '--project', 'MANUAL', '--output-dir', world.out]);
    expect(result.exitCode).toBe(0);
    expectArchivedAsServed(world, 'MANUAL', UIDS.slice(0, 2));
  });

  it('works with an NBIA server that only has the v1 API, taking PatientName from the first file', async () => {
    world = await startWorld({ nbia: { v4: false } });
    const manifest = await writeTciaManifest(world.out, 'v1.tcia', UIDS.slice(0, 2));
    const result = await world.run(['import', manifest, '--project', 'V1ONLY', '--output-dir', world.out]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/no v4 API here; using v1/);
    expectArchivedAsServed(world, 'V1ONLY', UIDS.slice(0, 2));
    for (const session of world.xnat.archive('V1ONLY')) {
      const spec = world.nbia.spec(session.scans[0]!.seriesInstanceUid)!;
      const expected = spec.patientName.replace(/[^A-Za-z0-9_-]/g, '_');
      expect(session.subject).toBe(/[A-Za-z0-9]/.test(expected) ? expected : spec.patientId.replace(/[^A-Za-z0-9_-]/g, '_'));
    }
  });
});
