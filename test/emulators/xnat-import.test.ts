import { request } from 'node:http';
import { Readable } from 'node:stream';
import archiver from 'archiver';
import { createRequire } from 'node:module';
import { startXnatEmulator, type XnatEmulator, type XnatEmulatorOptions } from '../../emulators/xnat/index.js';
import { ZIP, client, eventually, h3, localHeaders, seriesFiles, sopInstanceUid, spec, zipOf } from '../support/xnat-emulator-helpers.js';

const dcmjs = createRequire(import.meta.url)('dcmjs') as typeof import('dcmjs');
const UID_A = '1.3.6.1.4.1.14519.5.2.1.1000';
const UID_B = '1.3.6.1.4.1.14519.5.2.1.2000';
let emu: XnatEmulator;

async function start(opts: XnatEmulatorOptions = {}): Promise<XnatEmulator> {
  await emu?.close();
  emu = await startXnatEmulator({
    users: [
      { username: 'admin', password: 'admin', admin: true },
      { username: 'alice', password: 'pw' },
      { username: 'carol', password: 'pw' },
    ],
    projects: [
      { id: 'AUTO', prearchiveCode: 4, owners: ['alice'], collaborators: ['carol'] },
      { id: 'MAN', prearchiveCode: 0, owners: ['alice'] },
    ],
    ...opts,
  });
  return emu;
}

beforeEach(async () => {
  await start();
});
afterAll(async () => emu?.close());

const a = spec(UID_A, { patientName: "O'BRIEN^ANN", patientId: 'MSB 0001', seriesNumber: 1, modality: 'MR' });
const b = spec(UID_B, { studyUid: a.studyUid, patientName: a.patientName, patientId: a.patientId, seriesNumber: 2, modality: 'MR' });

function importUrl(params: string): string {
  return `data/services/import?${params}`;
}

describe('DICOM-zip import', () => {
  test('application/zip lands in the prearchive with DICOM-derived, cleaned labels and exact bytes', async () => {
    const files = seriesFiles(a, 'series1/');
    const res = await client(emu, 'alice', 'pw').post(importUrl('project=AUTO&prevent_auto_commit=true&SOURCE=xtd'), { body: await zipOf(files), headers: ZIP });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/uri-list/);
    expect(res.body).toMatch(/^\/data\/prearchive\/projects\/AUTO\/\d{8}_\d{9}\/MSB_0001\r\n$/);
    const [session] = emu.prearchive('AUTO');
    expect(session).toMatchObject({ subject: 'O_BRIEN_ANN', name: 'MSB_0001', folderName: 'MSB_0001', tag: a.studyUid, status: 'RECEIVING', source: 'xtd' });
    expect(session?.scans).toHaveLength(1);
    expect(session?.scans[0]?.id).toBe('1');
    expect(session?.scans[0]?.files.map((f) => f.name)).toEqual(['1.dcm', '2.dcm', '3.dcm']);
    expect(session?.scans[0]?.files.map((f) => f.bytes)).toEqual(files.map((f) => f.data));
    expect(session?.scans[0]?.files[0]?.sopInstanceUid).toBe(sopInstanceUid(a, 0));
  });

  test('an upload without dest lists no scans until the session is built (XNAT reads them from the built document)', async () => {
    const http = client(emu, 'alice', 'pw');
    const uri = (await http.post(importUrl('project=AUTO&prevent_auto_commit=true&SOURCE=xtd'), { body: await zipOf(seriesFiles(a)), headers: ZIP })).body.trim();
    const scans = await http.get(`${uri.slice(1)}/scans?format=json`, { throwHttpErrors: false });
    expect(scans.statusCode).toBe(404);
    expect(scans.body).toContain('Unable to locate prearc resource.');
    const built = await http.post(`${uri.slice(1)}?action=build`);
    expect(built.statusCode).toBe(200);
    expect(built.body.trim()).toBe(uri);
    expect(emu.prearchive('AUTO')[0]?.status).toBe('READY');
    const listed = await http.get(`${uri.slice(1)}/scans?format=json`);
    expect(JSON.parse(listed.body).ResultSet.Result.map((row: { ID: string }) => row.ID)).toEqual(['1']);
  });

  test('application/octet-stream is "Unsupported format UNKNOWN", and so is inbody with it', async () => {
    const body = await zipOf(seriesFiles(a));
    for (const url of [importUrl('project=AUTO'), importUrl('project=AUTO&inbody=true')]) {
      const res = await client(emu).post(url, { body, headers: { 'content-type': 'application/octet-stream' } });
      expect(res.statusCode).toBe(400);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(h3(res.body)).toBe('Unsupported format UNKNOWN');
    }
    expect(emu.prearchive('AUTO')).toHaveLength(0);
  });

  test('STORED entries with a data descriptor are refused like ZipInputStream; other layouts pass', async () => {
    const files = seriesFiles(a);
    const storedStreamed = await zipOf(files, { store: true, streamed: true });
    expect(localHeaders(storedStreamed)[0]).toMatchObject({ method: 0 });
    expect((localHeaders(storedStreamed)[0]?.flags ?? 0) & 8).toBe(8);
    const refused = await client(emu).post(importUrl('project=AUTO'), { body: storedStreamed, headers: ZIP });
    expect(refused.statusCode).toBe(400);
    expect(h3(refused.body)).toBe('only DEFLATED entries can have EXT descriptor');
    expect(emu.prearchive('AUTO')).toHaveLength(0);

    const storedSized = await zipOf(files, { store: true });
    expect(localHeaders(storedSized).every((h) => h.method === 0 && (h.flags & 8) === 0)).toBe(true);
    const deflatedStreamed = await zipOf(files, { streamed: true });
    expect(localHeaders(deflatedStreamed)[0]).toMatchObject({ method: 8 });
    for (const body of [storedSized, deflatedStreamed, await zipOf(files)]) {
      expect((await client(emu).post(importUrl('project=AUTO'), { body, headers: ZIP })).statusCode).toBe(200);
    }
    expect(emu.prearchive('AUTO')[0]?.scans[0]?.files).toHaveLength(3);
  });

  test('a corrupted entry fails its CRC check', async () => {
    const zip = await zipOf(seriesFiles(a), { store: true });
    const bad = Buffer.from(zip);
    bad[200] = (bad[200] as number) ^ 0xff; // inside the first entry's data
    const res = await client(emu).post(importUrl('project=AUTO'), { body: bad, headers: ZIP });
    expect(res.statusCode).toBe(400);
    expect(h3(res.body)).toMatch(/^invalid entry CRC \(expected 0x[0-9a-f]+ but got 0x[0-9a-f]+\)$/);
  });

  test('unknown import-handler is 404', async () => {
    const res = await client(emu).post(importUrl('project=AUTO&import-handler=Nope'), { body: await zipOf(seriesFiles(a)), headers: ZIP });
    expect(res.statusCode).toBe(404);
    expect(h3(res.body)).toBe('Unknown importer implementation specified: Nope');
  });

  test('a non-DICOM entry fails with 400 but entries before it stay; Ignore-Unparsable skips it', async () => {
    const files = [...seriesFiles(a).slice(0, 2), { name: 'notes/non_dicom_text_file.dcm', data: Buffer.from('hello') }, ...seriesFiles(a).slice(2)];
    const body = await zipOf(files);
    const res = await client(emu).post(importUrl('project=AUTO'), { body, headers: ZIP });
    expect(res.statusCode).toBe(400);
    expect(h3(res.body)).toBe('unable to read DICOM object notes/non_dicom_text_file.dcm');
    expect(emu.prearchive('AUTO')[0]?.scans[0]?.files.map((f) => f.name)).toEqual(['1.dcm', '2.dcm']);
    const ok = await client(emu).post(importUrl('project=AUTO&Ignore-Unparsable=true'), { body, headers: ZIP });
    expect(ok.statusCode).toBe(200);
    expect(emu.prearchive('AUTO')[0]?.scans[0]?.files).toHaveLength(3);
  });

  test('an object without SOP Instance UID is refused', async () => {
    const meta = dcmjs.data.DicomMetaDictionary.denaturalizeDataset({
      FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
      MediaStorageSOPClassUID: '1.2.840.10008.5.1.4.1.1.4',
      MediaStorageSOPInstanceUID: '1.2.3',
      TransferSyntaxUID: '1.2.840.10008.1.2.1',
    });
    const dict = new dcmjs.data.DicomDict(meta);
    dict.dict = dcmjs.data.DicomMetaDictionary.denaturalizeDataset({ PatientID: 'X', StudyInstanceUID: '1.2', SOPClassUID: '1.2.840.10008.5.1.4.1.1.4' });
    const res = await client(emu).post(importUrl('project=AUTO'), { body: await zipOf([{ name: 'x.dcm', data: Buffer.from(dict.write()) }]), headers: ZIP });
    expect(res.statusCode).toBe(400);
    expect(h3(res.body)).toBe('object x.dcm contains no SOP Instance UID');
  });

  test('two series of one study in two uploads share one prearchive session and URI', async () => {
    const c = client(emu, 'alice', 'pw');
    const first = await c.post(importUrl('project=AUTO&SUBJECT_ID=S1&EXPT_LABEL=E1'), { body: await zipOf(seriesFiles(a)), headers: ZIP });
    const second = await c.post(importUrl('project=AUTO&SUBJECT_ID=S1&EXPT_LABEL=E1'), { body: await zipOf(seriesFiles(b)), headers: ZIP });
    expect(first.body).toMatch(/\/AUTO\/\d{8}_\d{9}\/E1\r\n$/);
    expect(second.body).toBe(first.body);
    const [session, ...rest] = emu.prearchive('AUTO');
    expect(rest).toHaveLength(0);
    expect(session?.scans.map((s) => s.id)).toEqual(['1', '2']);
    expect(session?.subject).toBe('S1');
  });

  test('the same SOP Instance UID overwrites in place; same series number with another UID is renumbered', async () => {
    const c = client(emu);
    await c.post(importUrl('project=AUTO'), { body: await zipOf(seriesFiles(a)), headers: ZIP });
    await c.post(importUrl('project=AUTO'), { body: await zipOf(seriesFiles(a)), headers: ZIP });
    const twin = spec('1.3.6.1.4.1.14519.5.2.1.3000', { studyUid: a.studyUid, patientName: a.patientName, patientId: a.patientId, seriesNumber: 1, modality: 'MR' });
    await c.post(importUrl('project=AUTO'), { body: await zipOf(seriesFiles(twin)), headers: ZIP });
    const scans = emu.prearchive('AUTO')[0]?.scans ?? [];
    expect(scans.map((s) => [s.id, s.files.length])).toEqual([
      ['1', 3],
      ['1-MR1', 3],
    ]);
  });

  test('multipart with one file part is accepted, form fields become parameters; two files are refused', async () => {
    const zip = await zipOf(seriesFiles(a));
    const form = new FormData();
    form.append('project', 'MAN');
    form.append('EXPT_LABEL', 'FROM_FORM');
    form.append('file', new Blob([zip]), 'mr_1.zip');
    const res = await client(emu).post('data/services/import', { body: form });
    expect(res.statusCode).toBe(200);
    expect(res.body).toMatch(/\/MAN\/\d{8}_\d{9}\/FROM_FORM\r\n$/);
    const two = new FormData();
    two.append('a', new Blob([zip]), 'a.zip');
    two.append('b', new Blob([zip]), 'b.zip');
    const refused = await client(emu).post('data/services/import?project=MAN', { body: two });
    expect(refused.statusCode).toBe(400);
    expect(h3(refused.body)).toBe('Importer is limited to one uploaded resource at a time.');
  });

  test('nested zips are unpacked', async () => {
    const inner = await zipOf(seriesFiles(a));
    const res = await client(emu).post(importUrl('project=AUTO'), { body: await zipOf([{ name: 'inner/series.zip', data: inner }]), headers: ZIP });
    expect(res.statusCode).toBe(200);
    expect(emu.prearchive('AUTO')[0]?.scans[0]?.files).toHaveLength(3);
  });

  test('an unknown or unreadable project falls back to Unassigned silently', async () => {
    const res = await client(emu, 'carol', 'pw').post(importUrl('project=MAN'), { body: await zipOf(seriesFiles(a)), headers: ZIP });
    expect(res.statusCode).toBe(200);
    expect(res.body).toMatch(/^\/data\/prearchive\/projects\/Unassigned\//);
    expect(emu.prearchive('MAN')).toHaveLength(0);
    expect((await client(emu, 'carol', 'pw').get('data/prearchive/projects/Unassigned?format=json')).statusCode).toBe(403);
    const admin = await client(emu).get('data/prearchive/projects/Unassigned?format=json').json<{ ResultSet: { Result: unknown[] } }>();
    expect(admin.ResultSet.Result).toHaveLength(1);
  });

  test('a collaborator is routed to the project prearchive but cannot commit it', async () => {
    const res = await client(emu, 'carol', 'pw').post(importUrl('project=AUTO'), { body: await zipOf(seriesFiles(a)), headers: ZIP });
    expect(res.statusCode).toBe(200);
    expect(res.body).toMatch(/^\/data\/prearchive\/projects\/AUTO\//);
    const commit = await client(emu, 'carol', 'pw').post(`${res.body.trim().slice(1)}?action=commit`);
    expect(commit.statusCode).toBe(403);
    const archived = await client(emu, 'carol', 'pw').post(importUrl('project=AUTO&dest=/archive'), { body: await zipOf(seriesFiles(b)), headers: ZIP });
    expect(archived.statusCode).toBe(400);
    expect(h3(archived.body)).toBe('unable to archive for the Prearchive session');
    expect(emu.archive('AUTO')).toHaveLength(0);
  });

  test('1.9 refuses a different StudyInstanceUID merged into a prearchive session; 1.8 (< 1.8.10) allows it', async () => {
    const other = spec(UID_B, { seriesNumber: 2 });
    for (const [version, status, scans] of [
      ['1.9', 400, 1],
      ['1.8', 200, 2],
    ] as const) {
      await start({ version });
      const dest = 'dest=/prearchive/projects/MAN/20000101_100001/MRn';
      expect((await client(emu).post(importUrl(dest), { body: await zipOf(seriesFiles(a)), headers: ZIP })).statusCode).toBe(200);
      expect((await client(emu).post(importUrl(dest), { body: await zipOf(seriesFiles(other)), headers: ZIP })).statusCode).toBe(status);
      const [session] = emu.prearchive('MAN');
      expect(session).toMatchObject({ timestamp: '20000101_100001', folderName: 'MRn', status: 'READY' });
      expect(session?.scans).toHaveLength(scans);
    }
  });

  test('gradual-DICOM: a raw application/dicom body honours PROJECT_ID but not plain project', async () => {
    const [file] = seriesFiles(a);
    const dicom = { 'content-type': 'application/dicom' };
    const viaId = await client(emu).post(importUrl('PROJECT_ID=MAN'), { body: file?.data, headers: dicom });
    expect(viaId.statusCode).toBe(200);
    expect(viaId.body).toMatch(/^\/data\/prearchive\/projects\/MAN\//);
    const viaProject = await client(emu).post(importUrl('project=MAN'), { body: file?.data, headers: dicom });
    expect(viaProject.body).toMatch(/^\/data\/prearchive\/projects\/Unassigned\//);
  });

  test('a chunked upload piped straight from archiver (DEFLATE + data descriptors) is stored byte-exact', async () => {
    const big = spec('1.3.6.1.4.1.14519.5.2.1.6000', { imageCount: 60, rows: 128, columns: 128, patientName: 'BIG^ONE', patientId: 'BIG1' });
    const zip = archiver('zip', { zlib: { level: 1 } });
    for (const f of seriesFiles(big)) zip.append(Readable.from([f.data]), { name: f.name });
    void zip.finalize();
    const res = await client(emu).post(importUrl('project=AUTO&EXPT_LABEL=BIG1'), { body: zip, headers: ZIP });
    expect(res.statusCode).toBe(200);
    const rec = emu.requests.find((r) => r.path === '/data/services/import');
    expect(rec?.bodyBytes).toBeGreaterThan(60 * 128 * 128);
    const stored = emu.prearchive('AUTO')[0]?.scans[0]?.files ?? [];
    const sent = seriesFiles(big);
    // Buffer.equals: jest's deep equality walks typed arrays byte by byte.
    expect(stored.length === sent.length && stored.every((f, i) => f.bytes.equals(sent[i]?.data as Buffer))).toBe(true);
  });

  test('an upload cut off mid-way keeps the entries received before the break', async () => {
    const files = seriesFiles(spec('1.3.6.1.4.1.14519.5.2.1.4000', { imageCount: 4 }));
    const zip = await zipOf(files, { store: true });
    const cut = zip.indexOf(Buffer.from('3.dcm')) + 200; // inside the third entry's data
    const auth = `Basic ${Buffer.from('admin:admin').toString('base64')}`;
    await new Promise<void>((resolve) => {
      const req = request(`${emu.url}/data/services/import?project=AUTO`, {
        method: 'POST',
        headers: { authorization: auth, 'content-type': 'application/zip', 'content-length': String(zip.length) },
      });
      req.on('error', () => resolve());
      req.write(zip.subarray(0, cut), () => setTimeout(() => req.destroy(), 100));
    });
    await eventually(() => emu.requests.some((r) => r.path === '/data/services/import' && r.bodyBytes === cut));
    await eventually(() => emu.prearchive('AUTO')[0]?.scans[0]?.files.length === 2);
    expect(emu.prearchive('AUTO')[0]?.scans[0]?.files.map((f) => f.bytes)).toEqual(files.slice(0, 2).map((f) => f.data));
  });
});
