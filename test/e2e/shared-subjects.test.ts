import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import got from 'got';
import { buildCollection, type SeriesSpec } from '../../emulators/nbia/index.js';
import { seriesFiles, sopInstanceUid, zipOf } from '../support/xnat-emulator-helpers.js';
import { writeTciaManifest } from '../support/run-cli.js';
import { FAST, PASSWORD, startWorld, type World } from '../support/world.js';

// One study of two series of one patient; the first run imports A, the second adds B to the same session.
const [A, B] = ['1.3.6.1.4.1.14519.5.2.1.12.1', '1.3.6.1.4.1.14519.5.2.1.12.2'] as [string, string];
type Table = { ResultSet: { Result: Record<string, string>[] } };
let world: World;
afterEach(async () => world?.close());

/** OWNER's subject OWNER_SUBJ_7, shared into BORROWER under the label the tool gives the patient there (its cleaned PatientName). */
async function sharedSubjectWorld(): Promise<{ auth: { username: string; password: string }; subjectId: string; collection: SeriesSpec[] }> {
  const collection = buildCollection([A, B], { seriesPerStudy: 2, awkwardNames: false });
  world = await startWorld({ nbia: { collection }, xnat: { projects: [{ id: 'OWNER', owners: ['admin'] }, { id: 'BORROWER', owners: ['admin'] }] } });
  const auth = { username: 'admin', password: PASSWORD };
  const inBorrower = collection[0]!.patientName.replace(/\^/g, '_');
  const subjectId = (await got.put(`${world.xnat.url}/data/projects/OWNER/subjects/OWNER_SUBJ_7`, auth)).body.trim();
  expect((await got.put(`${world.xnat.url}/data/projects/OWNER/subjects/OWNER_SUBJ_7/projects/BORROWER`, { ...auth, searchParams: { label: inBorrower } })).statusCode).toBe(200);
  return { auth, subjectId, collection };
}

describe('a session of this project under a subject another project owns and shares into it', () => {
  it('adds the new series to that session under that subject, and creates no subject of its own', async () => {
    const { auth, subjectId } = await sharedSubjectWorld();

    const first = await world.run(['import', await writeTciaManifest(world.out, 'a.tcia', [A]), '--project', 'BORROWER', '--output-dir', world.out, ...FAST]);
    expect(first.exitCode).toBe(0);
    const [session] = world.xnat.archive('BORROWER');
    expect(session?.subject).toBe('OWNER_SUBJ_7');

    const second = await world.run(['import', await writeTciaManifest(world.out, 'ab.tcia', [A, B]), '--project', 'BORROWER', '--output-dir', world.out, ...FAST]);
    expect(second.stderr).toBe('');
    expect(second.stdout).toMatch(/summary: 1 imported into 1 session\(s\), 1 already in XNAT, 0 failed/);
    expect(second.exitCode).toBe(0);
    expect(world.xnat.archive('BORROWER')).toEqual([expect.objectContaining({ id: session!.id, subject: 'OWNER_SUBJ_7' })]);
    expect(world.xnat.archive('BORROWER')[0]!.scans.map((s) => s.seriesInstanceUid).sort()).toEqual([A, B]);
    expect(world.xnat.prearchive('BORROWER')).toEqual([]);
    // No empty subject of BORROWER's own was made for the owner's label.
    const subjects = (await got(`${world.xnat.url}/data/projects/BORROWER/subjects`, { ...auth, searchParams: { format: 'json' } }).json<Table>()).ResultSet.Result;
    expect(subjects).toEqual([]);
    // The report names the subject by its label, and links the session by the subject's accession ID, which XNAT finds from any project.
    const rows = JSON.parse(await readFile(join(world.out, 'latest', 'report.json'), 'utf8')).series as { seriesUid: string; subject: string; status: string; sessionUrl: string }[];
    expect(rows.map((r) => [r.seriesUid, r.subject, r.status])).toEqual([[A, 'OWNER_SUBJ_7', 'already-in-xnat'], [B, 'OWNER_SUBJ_7', 'imported']]);
    expect((await got(rows[1]!.sessionUrl, { ...auth, searchParams: { format: 'json' } })).statusCode).toBe(200);
    expect(rows[1]!.sessionUrl).toContain(`/subjects/${subjectId}/`);
  });

  it('commits the entry an earlier refused commit left in the prearchive, naming the subject again', async () => {
    const { auth, collection } = await sharedSubjectWorld();
    expect((await world.run(['import', await writeTciaManifest(world.out, 'a.tcia', [A]), '--project', 'BORROWER', '--output-dir', world.out, ...FAST])).exitCode).toBe(0);
    const [session] = world.xnat.archive('BORROWER');
    // What an earlier version did: B sent under the owner's label, and the commit refused (CONFLICT).
    // Named as the tool names them (<SOPInstanceUID>.dcm), so the rerun's files replace these rather than add to them.
    const b = collection.find((x) => x.seriesUid === B)!;
    const zip = await zipOf(seriesFiles(b).map((f, i) => ({ ...f, name: `${sopInstanceUid(b, i)}.dcm` })));
    const query = { 'import-handler': 'DICOM-zip', PROJECT_ID: 'BORROWER', SUBJECT_ID: 'OWNER_SUBJ_7', EXPT_LABEL: session!.label, prevent_auto_commit: 'true' };
    const entry = (await got.post(`${world.xnat.url}/data/services/import`, { ...auth, searchParams: query, body: zip, headers: { 'content-type': 'application/zip' } })).body.trim();
    const refused = await got.post(`${world.xnat.url}${entry}`, { ...auth, searchParams: { action: 'commit', AA: 'true' }, throwHttpErrors: false, followRedirect: false });
    expect(refused.statusCode).toBe(409);
    expect(world.xnat.prearchive('BORROWER').map((p) => p.status)).toEqual(['CONFLICT']);

    // The rerun's upload lands in that entry, which keeps the owner's label: the commit names the subject again.
    const rerun = await world.run(['import', await writeTciaManifest(world.out, 'ab.tcia', [A, B]), '--project', 'BORROWER', '--output-dir', world.out, ...FAST]);
    expect(rerun.stderr).toBe('');
    expect(rerun.exitCode).toBe(0);
    expect(world.xnat.archive('BORROWER')[0]!.scans.map((s) => s.seriesInstanceUid).sort()).toEqual([A, B]);
    expect(world.xnat.prearchive('BORROWER')).toEqual([]);
  });
});
