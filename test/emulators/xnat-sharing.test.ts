import { startXnatEmulator, type XnatEmulator } from '../../emulators/xnat/index.js';
import { TEST_USERS, ZIP, client, h3, seriesFiles, spec, zipOf } from '../support/xnat-emulator-helpers.js';

const a = spec('1.3.6.1.4.1.14519.5.2.1.1000', { patientName: 'DOE^JOHN', patientId: 'PID-1', seriesNumber: 1, modality: 'CT', studyDate: '20200315' });
const b = spec('1.3.6.1.4.1.14519.5.2.1.2000', { studyUid: a.studyUid, patientName: 'DOE^JOHN', patientId: 'PID-1', seriesNumber: 2, modality: 'CT', studyDate: '20200315' });

type Table = { ResultSet: { Result: Record<string, string>[] } };
type Doc = { items: { data_fields: Record<string, string>; children: { field: string; items: { data_fields: Record<string, string> }[] }[] }[] };
let emu: XnatEmulator;

beforeEach(async () => {
  await emu?.close();
  emu = await startXnatEmulator({
    users: TEST_USERS,
    projects: ['OWNER', 'SHARED', 'PLAIN'].map((id) => ({ id, prearchiveCode: 4 as const, owners: ['alice'] })),
  });
  const path = (await client(emu, 'alice', 'pw').post('data/services/import?project=OWNER&prevent_auto_commit=true&SOURCE=uploader', { body: await zipOf(seriesFiles(a)), headers: ZIP })).body.trim();
  expect((await client(emu, 'alice', 'pw').post(`${path.slice(1)}?action=commit`)).statusCode).toBe(301);
});
afterAll(async () => emu?.close());

const share = (target: string, label?: string): Promise<{ statusCode: number; body: string }> =>
  client(emu, 'alice', 'pw').put(`data/projects/OWNER/subjects/DOE_JOHN/experiments/PID-1/projects/${target}${label ? `?label=${label}` : ''}`);

/** Sends series b into a project under a label and commits it with overwrite=append. */
async function sendInto(project: string, label: string): Promise<{ statusCode: number; body: string }> {
  const query = `project=${project}&SUBJECT_ID=DOE_JOHN&EXPT_LABEL=${label}&prevent_auto_commit=true&SOURCE=uploader`;
  const path = (await client(emu, 'alice', 'pw').post(`data/services/import?${query}`, { body: await zipOf(seriesFiles(b)), headers: ZIP })).body.trim();
  return client(emu, 'alice', 'pw').post(`${path.slice(1)}?action=commit&overwrite=append`);
}

describe('shared experiments', () => {
  test('a share lists the session under the other project with its label there; its document keeps the owner', async () => {
    expect((await share('SHARED', 'SH_1')).statusCode).toBe(200);
    const again = await share('SHARED', 'SH_1');
    expect(again.statusCode).toBe(409);
    expect(h3(again.body)).toBe('Already assigned to project:SHARED');
    expect(h3((await share('OWNER')).body)).toBe('Already assigned to project:OWNER');

    const rows = (await client(emu, 'alice', 'pw').get('data/projects/SHARED/experiments?format=json&columns=ID,label,subject_label,project,xnat:imageSessionData/UID').json<Table>()).ResultSet.Result;
    expect(rows).toEqual([expect.objectContaining({ ID: 'XNAT_E00001', label: 'SH_1', subject_label: 'DOE_JOHN', project: 'SHARED', 'xnat:imagesessiondata/uid': a.studyUid })]);
    const doc = await client(emu, 'alice', 'pw').get('data/experiments/XNAT_E00001?format=json').json<Doc>();
    expect(doc.items[0]!.data_fields).toMatchObject({ project: 'OWNER', label: 'PID-1' });
    expect(doc.items[0]!.children.find((c) => c.field === 'sharing/share')!.items.map((x) => x.data_fields)).toEqual([{ project: 'SHARED', label: 'SH_1' }]);
    expect((await client(emu, 'alice', 'pw').get('data/projects/SHARED/experiments/SH_1?format=json')).statusCode).toBe(200);
  });

  test('the archive refuses to merge an upload of the other project into the shared session', async () => {
    expect((await share('SHARED', 'SH_1')).statusCode).toBe(200);
    expect((await share('PLAIN')).statusCode).toBe(200);
    // Under its own label there the archiver's label check fails first; under the owner's label its project check.
    const renamed = await sendInto('SHARED', 'SH_1');
    expect(renamed.statusCode).toBe(409);
    expect(h3(renamed.body)).toBe('Invalid modification of session label via archive process.');
    const same = await sendInto('PLAIN', 'PID-1');
    expect(same.statusCode).toBe(409);
    expect(h3(same.body)).toBe('Invalid modification of session project via archive process.');
    expect(emu.prearchive('SHARED')[0]?.status).toBe('CONFLICT');
    expect(emu.archive('OWNER')[0]!.scans.map((s) => s.seriesInstanceUid)).toEqual([a.seriesUid]);
    expect(emu.archive('SHARED')).toEqual([]);
  });

  test('a label the other project already uses is refused', async () => {
    await sendInto('SHARED', 'TAKEN');
    const res = await share('SHARED', 'TAKEN');
    expect(res.statusCode).toBe(409);
    expect(h3(res.body)).toBe('Label already in use:TAKEN');
  });
});

describe('shared subjects', () => {
  const c = spec('1.3.6.1.4.1.14519.5.2.1.3000', { studyUid: a.studyUid, patientName: 'DOE^JOHN', patientId: 'PID-1', seriesNumber: 3, modality: 'CT', studyDate: '20200315' });
  const shareSubject = (label: string): Promise<{ statusCode: number; body: string }> =>
    client(emu, 'alice', 'pw').put(`data/projects/OWNER/subjects/DOE_JOHN/projects/SHARED?label=${label}`);
  /** Sends a series into SHARED's session NEW under a subject reference and commits it. */
  async function sendAs(series: typeof b, subject: string): Promise<{ statusCode: number; body: string }> {
    const query = `project=SHARED&SUBJECT_ID=${subject}&EXPT_LABEL=NEW&prevent_auto_commit=true&SOURCE=uploader`;
    const path = (await client(emu, 'alice', 'pw').post(`data/services/import?${query}`, { body: await zipOf(seriesFiles(series)), headers: ZIP })).body.trim();
    return client(emu, 'alice', 'pw').post(`${path.slice(1)}?action=commit&overwrite=append`);
  }
  const subjectsOf = async (project: string): Promise<Record<string, string>[]> =>
    (await client(emu, 'alice', 'pw').get(`data/projects/${project}/subjects?format=json`).json<Table>()).ResultSet.Result;

  test('the archiver finds a subject by its label in the project ignoring case, or by its accession ID; the owner\'s label makes a new subject and a conflict', async () => {
    expect((await shareSubject('SH_SUBJ')).statusCode).toBe(200);
    expect(h3((await shareSubject('OTHER')).body)).toBe('Already assigned to project:SHARED');
    const owned = (await subjectsOf('OWNER'))[0]!;
    // The share's label, in another case: SHARED's own session under OWNER's subject.
    expect((await sendAs(b, 'sh_subj')).statusCode).toBe(301);
    const rows = (await client(emu, 'alice', 'pw').get('data/projects/SHARED/experiments?format=json&columns=ID,label,subject_label,subject_ID').json<Table>()).ResultSet.Result;
    expect(rows).toEqual([expect.objectContaining({ label: 'NEW', subject_label: 'DOE_JOHN', subject_ID: owned.ID })]);
    expect(await subjectsOf('SHARED')).toEqual([]);

    // The owner's label is no label in SHARED: the subject is created there before the conflict check refuses the merge.
    const refused = await sendAs(c, 'DOE_JOHN');
    expect(refused.statusCode).toBe(409);
    expect(h3(refused.body)).toBe('Invalid modification of session subject via archive process.: NEW Already Exists for another Subject');
    expect((await subjectsOf('SHARED')).map((s) => s.label)).toEqual(['DOE_JOHN']);
    expect(emu.prearchive('SHARED')[0]?.status).toBe('CONFLICT');

    // The refused entry would take the next upload of the study (and keep its subject): clear it first.
    const [entry] = emu.prearchive('SHARED');
    expect((await client(emu, 'alice', 'pw').delete(`data/prearchive/projects/SHARED/${entry!.timestamp}/${entry!.folderName}`)).statusCode).toBe(200);
    const byId = await sendAs(c, owned.ID!);
    expect(byId.statusCode).toBe(301);
    expect(byId.body).toContain('/archive/projects/SHARED/subjects/DOE_JOHN/experiments/NEW');
    expect(emu.archive('SHARED')[0]!.scans.map((s) => s.seriesInstanceUid)).toEqual([b.seriesUid, c.seriesUid]);
  });
});
