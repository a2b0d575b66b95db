import { startXnatEmulator, type XnatEmulator } from '../../emulators/xnat/index.js';
import { TEST_USERS, ZIP, client, cookieClient, h3, seriesFiles, spec, zipOf } from '../support/xnat-emulator-helpers.js';

const a = spec('1.3.6.1.4.1.14519.5.2.1.1000', { patientName: 'DOE^JOHN', patientId: 'PID-1', seriesNumber: 1, modality: 'CT', studyDate: '20200315' });
const b = spec('1.3.6.1.4.1.14519.5.2.1.2000', { studyUid: a.studyUid, patientName: 'DOE^JOHN', patientId: 'PID-1', seriesNumber: 2, modality: 'CT', studyDate: '20200315' });
const otherStudy = spec('1.3.6.1.4.1.14519.5.2.1.3000', { patientName: 'DOE^JOHN', patientId: 'PID-1', seriesNumber: 3, modality: 'CT' });

type Table = { ResultSet: { Result: Record<string, string>[]; totalRecords: string } };
let emu: XnatEmulator;

beforeEach(async () => {
  await emu?.close();
  emu = await startXnatEmulator({
    users: TEST_USERS,
    projects: [
      { id: 'AUTO', prearchiveCode: 4, owners: ['alice'] },
      { id: 'MAN', prearchiveCode: 0, owners: ['alice'] },
    ],
  });
});
afterAll(async () => emu?.close());

/** Uploads a series without dest and returns its prearchive path without the leading slash. */
async function upload(project: string, s = a, extra = ''): Promise<string> {
  const res = await client(emu, 'alice', 'pw').post(`data/services/import?project=${project}&prevent_auto_commit=true&SOURCE=uploader${extra}`, {
    body: await zipOf(seriesFiles(s)),
    headers: ZIP,
  });
  expect(res.statusCode).toBe(200);
  return res.body.trim().slice(1);
}

describe('commit and archive', () => {
  test('commit on an AutoArchive project: 301 with the archive URI as body and no Location; exact bytes archived', async () => {
    const path = await upload('AUTO');
    const res = await client(emu, 'alice', 'pw').post(`${path}?action=commit&SOURCE=uploader`);
    expect(res.statusCode).toBe(301);
    expect(res.headers.location).toBeUndefined();
    expect(res.body).toBe('/data/archive/projects/AUTO/subjects/DOE_JOHN/experiments/PID-1');
    expect(emu.prearchive('AUTO')).toHaveLength(0);
    const [session] = emu.archive('AUTO');
    expect(session).toMatchObject({ id: 'XNAT_E00001', project: 'AUTO', subject: 'DOE_JOHN', label: 'PID-1', studyInstanceUid: a.studyUid, modality: 'CT', date: '2020-03-15' });
    expect(session?.scans[0]?.files.map((f) => f.bytes)).toEqual(seriesFiles(a).map((f) => f.data));
  });

  test('commit on a Manual project is 200 with the prearchive URI and archives nothing; AA=true archives with 301', async () => {
    const path = await upload('MAN');
    const manual = await client(emu, 'alice', 'pw').post(`${path}?action=commit`);
    expect(manual.statusCode).toBe(200);
    expect(manual.headers['content-type']).toMatch(/^text\/uri-list/);
    expect(manual.body).toBe(`/${path}\r\n`);
    expect(emu.prearchive('MAN')[0]?.status).toBe('READY');
    expect(emu.archive('MAN')).toHaveLength(0);
    const aa = await client(emu, 'alice', 'pw').post(`${path}?action=commit&AA=true`);
    expect(aa.statusCode).toBe(301);
    expect(aa.body).toBe('/data/archive/projects/MAN/subjects/DOE_JOHN/experiments/PID-1');
    expect(emu.archive('MAN')).toHaveLength(1);
  });

  test('commit without action is 400; unknown entries 404', async () => {
    const path = await upload('MAN');
    expect((await client(emu).post(path)).statusCode).toBe(400);
    expect((await client(emu).post('data/prearchive/projects/MAN/20000101_000000000/X?action=commit')).statusCode).toBe(404);
  });

  test('a new series merges into the archived session with overwrite=append', async () => {
    await client(emu, 'alice', 'pw').post(`${await upload('AUTO')}?action=commit`);
    const res = await client(emu, 'alice', 'pw').post(`${await upload('AUTO', b)}?action=commit&overwrite=append`);
    expect(res.statusCode).toBe(301);
    const [session, ...more] = emu.archive('AUTO');
    expect(more).toHaveLength(0);
    expect(session?.scans.map((s) => [s.id, s.seriesInstanceUid, s.files.length])).toEqual([
      ['1', a.seriesUid, 3],
      ['2', b.seriesUid, 3],
    ]);
  });

  test('re-sending archived files conflicts (409, CONFLICT) unless overwrite=delete', async () => {
    await client(emu, 'alice', 'pw').post(`${await upload('AUTO')}?action=commit`);
    const path = await upload('AUTO');
    const res = await client(emu, 'alice', 'pw').post(`${path}?action=commit&overwrite=append`);
    expect(res.statusCode).toBe(409);
    expect(h3(res.body)).toBe('Session already exists with matching files.');
    expect(emu.prearchive('AUTO')[0]?.status).toBe('CONFLICT');
    expect((await client(emu, 'alice', 'pw').post(`${path}?action=commit&overwrite=delete`)).statusCode).toBe(301);
    expect(emu.archive('AUTO')[0]?.scans[0]?.files).toHaveLength(3);
  });

  test('same label with another StudyInstanceUID is a UID conflict', async () => {
    await client(emu, 'alice', 'pw').post(`${await upload('AUTO')}?action=commit`);
    const path = await upload('AUTO', otherStudy);
    const res = await client(emu, 'alice', 'pw').post(`${path}?action=commit&overwrite=append`);
    expect(res.statusCode).toBe(409);
    expect(h3(res.body)).toBe('Invalid modification of session UID via archive process.');
    const listing = await client(emu, 'alice', 'pw').get('data/prearchive/projects/AUTO?format=json').json<Table>();
    expect(listing.ResultSet.Result[0]?.status).toBe('CONFLICT');
  });

  test('an RTSTRUCT sent alone does not merge into the archived CT session of its study, even with overwrite=delete', async () => {
    await client(emu, 'alice', 'pw').post(`${await upload('AUTO')}?action=commit`);
    const path = await upload('AUTO', { ...b, modality: 'RTSTRUCT', imageCount: 1 });
    for (const overwrite of ['append', 'delete']) {
      const res = await client(emu, 'alice', 'pw').post(`${path}?action=commit&overwrite=${overwrite}`);
      expect(res.statusCode).toBe(409);
      expect(h3(res.body)).toBe('Invalid modification of session modality via archive process.  Data may require a manual merge.');
    }
    expect(emu.prearchive('AUTO')[0]?.status).toBe('CONFLICT');
    expect(emu.archive('AUTO')[0]?.scans).toHaveLength(1);
  });

  test('labels with special characters cannot be archived', async () => {
    const path = await upload('AUTO', a, '&EXPT_LABEL=bad!label');
    const res = await client(emu, 'alice', 'pw').post(`${path}?action=commit`);
    expect(res.statusCode).toBe(400);
    expect(h3(res.body)).toBe('Identifiers cannot use special characters.');
  });

  test('dest=/archive archives synchronously; a repeat fails with the DICOM-zip 400; delete overwrites', async () => {
    const zip = await zipOf(seriesFiles(a));
    const c = client(emu, 'alice', 'pw');
    const url = 'data/services/import?dest=/archive/projects/MAN/subjects/SUBJ1/experiments/EXP1';
    const first = await c.post(url, { body: zip, headers: ZIP });
    expect(first.statusCode).toBe(200);
    expect(first.body).toBe('/data/archive/projects/MAN/subjects/SUBJ1/experiments/EXP1\r\n');
    const again = await c.post(url, { body: zip, headers: ZIP });
    expect(again.statusCode).toBe(400);
    expect(h3(again.body)).toBe('unable to archive for the Prearchive session');
    expect(emu.prearchive('MAN')[0]?.status).toBe('CONFLICT');
    expect((await c.post(`${url}&overwrite=delete`, { body: zip, headers: ZIP })).statusCode).toBe(200);
  });

  test('services/archive: 200 uri-list, 303 for AutoArchive sessions, 500 FAILED on conflicts', async () => {
    const c = await cookieClient(emu, 'alice', 'pw');
    const manual = await upload('MAN');
    const ok = await c.post(`data/services/archive?src=${manual.replace(/^data/, '')}`);
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toBe('/data/archive/projects/MAN/subjects/DOE_JOHN/experiments/PID-1\r\n');
    const again = await upload('MAN', b);
    const failed = await c.post('data/services/archive', { form: { src: `/${again}`, overwrite: 'none' } });
    expect(failed.statusCode).toBe(500);
    expect(h3(failed.body)).toBe('FAILED: Session already exists, retry with overwrite enabled');
    const auto = await upload('AUTO');
    const redirected = await c.post(`data/services/archive?src=/${auto}&overwrite=append`);
    expect(redirected.statusCode).toBe(303);
    expect(redirected.headers.location).toBe(`${emu.url}/data/archive/projects/AUTO/subjects/DOE_JOHN/experiments/PID-1`);
  });
});

describe('listings and documents', () => {
  test('prearchive rows are all strings and url lacks /data', async () => {
    const path = await upload('AUTO');
    const rows = (await client(emu, 'alice', 'pw').get('data/prearchive/projects/AUTO?format=json').json<Table>()).ResultSet.Result;
    expect(rows).toHaveLength(1);
    const row = rows[0] as Record<string, string>;
    expect(Object.keys(row).sort()).toEqual(
      ['PROTOCOL', 'SOURCE', 'TIMEZONE', 'VISIT', 'autoarchive', 'folderName', 'lastmod', 'name', 'prevent_anon', 'prevent_auto_commit', 'project', 'scan_date', 'scan_time', 'status', 'subject', 'tag', 'timestamp', 'uploaded', 'url'].sort(),
    );
    expect(Object.values(row).every((v) => typeof v === 'string')).toBe(true);
    expect(row.url).toBe(`/${path.replace(/^data\//, '')}`);
    expect(row).toMatchObject({ autoarchive: 'AutoArchive', prevent_auto_commit: 'true', SOURCE: 'uploader', status: 'RECEIVING', tag: a.studyUid });
    expect(row.lastmod).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{1,3}$/);
    expect(row.uploaded).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$/);
    const one = await client(emu, 'alice', 'pw').get(`${path}?format=json`).json<Table>();
    expect(one.ResultSet.Result).toEqual(rows);
    expect((await client(emu, 'alice', 'pw').delete(path)).statusCode).toBe(200);
    expect(emu.prearchive('AUTO')).toHaveLength(0);
  });

  test('experiments listing, columns, UID filters and the session document', async () => {
    await client(emu, 'alice', 'pw').post(`${await upload('AUTO')}?action=commit`);
    const c = client(emu, 'alice', 'pw');
    const list = await c.get('data/projects/AUTO/experiments?format=json').json<Table>();
    expect(list.ResultSet.Result).toEqual([
      {
        ID: 'XNAT_E00001',
        project: 'AUTO',
        date: '2020-03-15',
        xsiType: 'xnat:ctSessionData',
        'xnat:subjectassessordata/id': 'XNAT_E00001',
        label: 'PID-1',
        insert_date: expect.stringMatching(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$/),
        URI: '/data/experiments/XNAT_E00001',
        subject_label: 'DOE_JOHN',
        subject_ID: 'XNAT_S00001',
      },
    ]);
    const cols = await c.get(`data/projects/AUTO/experiments?format=json&columns=ID,label,xnat:imageSessionData/UID&UID=${a.studyUid}`).json<Table>();
    expect(cols.ResultSet.Result).toEqual([{ ID: 'XNAT_E00001', label: 'PID-1', 'xnat:imagesessiondata/uid': a.studyUid, URI: '/data/experiments/XNAT_E00001' }]);
    const short = await c.get('data/projects/AUTO/experiments?format=json&columns=UID&label=PID-*').json<Table>();
    expect(short.ResultSet.Result[0]?.UID).toBe(a.studyUid);
    expect((await c.get('data/projects/AUTO/experiments?format=json&UID=9.9.9').json<Table>()).ResultSet.totalRecords).toBe('0');
    const byUid = await c.get(`data/experiments?xnat:imageSessionData/UID=${a.studyUid}&format=json`).json<Table>();
    expect(byUid.ResultSet.Result.map((r) => r.ID)).toEqual(['XNAT_E00001']);

    const doc = await c.get('data/projects/AUTO/subjects/DOE_JOHN/experiments/PID-1?format=json').json<{ items: Record<string, unknown>[] }>();
    expect(doc).toEqual(await c.get('data/experiments/XNAT_E00001?format=json').json());
    expect(doc.items[0]).toMatchObject({
      meta: { 'xsi:type': 'xnat:ctSessionData' },
      data_fields: { ID: 'XNAT_E00001', label: 'PID-1', project: 'AUTO', subject_ID: 'XNAT_S00001', UID: a.studyUid, modality: 'CT', date: '2020-03-15' },
      children: [
        {
          field: 'scans/scan',
          items: [
            {
              meta: { 'xsi:type': 'xnat:ctScanData' },
              data_fields: { ID: '1', UID: a.seriesUid, series_description: a.seriesDescription },
              children: [{ field: 'file', items: [{ meta: { 'xsi:type': 'xnat:resourceCatalog' }, data_fields: { label: 'DICOM', format: 'DICOM', file_count: 3 } }] }],
            },
          ],
        },
      ],
    });
    expect((await c.get('data/projects/AUTO/subjects/DOE_JOHN/experiments/NOPE?format=json')).statusCode).toBe(404);

    const files = await c.get('data/experiments/XNAT_E00001/scans/1/resources/DICOM/files?format=json').json<Table>();
    expect(files.ResultSet.Result.map((f) => f.Name)).toEqual(['1.dcm', '2.dcm', '3.dcm']);
    expect(Object.keys(files.ResultSet.Result[0] ?? {})).toEqual(['Name', 'Size', 'URI', 'collection', 'file_tags', 'file_format', 'file_content', 'cat_ID', 'digest']);
    const bytes = await c.get((files.ResultSet.Result[1]?.URI as string).slice(1)).buffer();
    expect(bytes.equals(seriesFiles(a)[1]?.data as Buffer)).toBe(true);
    const longPath = await c.get('data/archive/projects/AUTO/subjects/DOE_JOHN/experiments/PID-1/scans/1/resources/DICOM/files/3.dcm').buffer();
    expect(longPath.equals(seriesFiles(a)[2]?.data as Buffer)).toBe(true);

    expect((await c.delete('data/experiments/XNAT_E00001')).statusCode).toBe(200);
    expect((await c.get('data/experiments/XNAT_E00001?format=json')).statusCode).toBe(404);
  });

  test('a series sharing a scan number with an archived scan is renumbered on merge', async () => {
    await client(emu, 'alice', 'pw').post(`${await upload('AUTO')}?action=commit`);
    const twin = spec('1.3.6.1.4.1.14519.5.2.1.5000', { studyUid: a.studyUid, patientName: a.patientName, patientId: a.patientId, seriesNumber: 1, modality: 'CT' });
    expect((await client(emu, 'alice', 'pw').post(`${await upload('AUTO', twin)}?action=commit`)).statusCode).toBe(301);
    expect(emu.archive('AUTO')[0]?.scans.map((s) => s.id)).toEqual(['1', '1-CT1']);
  });
});

describe('non-image experiments', () => {
  test('listed by default but not when an image-session column roots the query; an archive into their label fails', async () => {
    const alice = client(emu, 'alice', 'pw');
    expect((await alice.put('data/projects/MAN/subjects/DOE_JOHN')).statusCode).toBe(201);
    const made = await alice.put('data/projects/MAN/subjects/DOE_JOHN/experiments/PID-1?xsiType=xnat:subjectVariablesData');
    expect(made.statusCode).toBe(201);
    const labels = async (query: string): Promise<string[]> =>
      (JSON.parse((await alice.get(`data/projects/MAN/experiments?format=json${query}`)).body) as Table).ResultSet.Result.map((r) => r.label!);
    expect(await labels('')).toEqual(['PID-1']);
    expect(await labels('&columns=ID,label')).toEqual(['PID-1']);
    expect(await labels('&columns=ID,label,xnat:imageSessionData/UID')).toEqual([]);
    expect(await labels('&columns=ID,label,UID')).toEqual([]);

    // DICOM headers name the session PID-1, the form's label: the archiver casts the form to an image session.
    const path = await upload('MAN');
    const res = await alice.post(`${path}?action=commit&AA=true`);
    expect(res.statusCode).toBe(500);
    expect(h3(res.body)).toMatch(/XnatSubjectvariablesdata cannot be cast to class org\.nrg\.xdat\.om\.XnatImagesessiondata/);
    expect(emu.prearchive('MAN')[0]?.status).toBe('ERROR');
    expect(emu.archive('MAN').map((e) => e.label)).toEqual(['PID-1']);
  });
});

describe('deletes need delete rights', () => {
  test('a Member may not delete a scan or a session (403); an Owner may', async () => {
    await emu.close();
    emu = await startXnatEmulator({ users: [...TEST_USERS, { username: 'mia', password: 'pw' }], projects: [{ id: 'AUTO', prearchiveCode: 4, owners: ['alice'], members: ['mia'] }] });
    const path = await upload('AUTO');
    expect((await client(emu, 'alice', 'pw').post(`${path}?action=commit`)).statusCode).toBe(301);
    const [session] = emu.archive('AUTO');
    const scan = `data/experiments/${session!.id}/scans/${session!.scans[0]!.id}`;
    const refused = await client(emu, 'mia', 'pw').delete(`${scan}?removeFiles=true`);
    expect(refused.statusCode).toBe(403);
    expect(h3(refused.body)).toBe("User account doesn't have permission to modify this session.");
    expect((await client(emu, 'mia', 'pw').delete(`data/experiments/${session!.id}`)).statusCode).toBe(403);
    expect((await client(emu, 'alice', 'pw').delete(`${scan}?removeFiles=true`)).statusCode).toBe(200);
    expect(emu.archive('AUTO')[0]!.scans).toEqual([]);
  });
});
