import got from 'got';
import { startXnatEmulator, type XnatEmulator } from '../../emulators/xnat/index.js';
import { TEST_USERS, ZIP, client, eventually, h3, seriesFiles, spec, zipOf } from '../support/xnat-emulator-helpers.js';

const a = spec('1.3.6.1.4.1.14519.5.2.1.7000', { patientName: 'ROE^RICH', patientId: 'PID-7', seriesNumber: 4, modality: 'MR' });
let emu: XnatEmulator;

beforeEach(async () => {
  await emu?.close();
  emu = await startXnatEmulator({
    users: TEST_USERS,
    projects: [{ id: 'AUTO', prearchiveCode: 4, owners: ['alice'] }],
  });
});
afterAll(async () => emu?.close());

async function upload(): Promise<string> {
  const res = await client(emu, 'alice', 'pw').post('data/services/import?project=AUTO&prevent_auto_commit=true', { body: await zipOf(seriesFiles(a)), headers: ZIP });
  expect(res.statusCode).toBe(200);
  return res.body.trim().slice(1);
}

describe('project resources', () => {
  test('create, upload, duplicate reply, overwrite, listing and download', async () => {
    const c = client(emu, 'alice', 'pw');
    expect((await c.put('data/projects/AUTO/resources/MANIFESTS?format=CSV')).statusCode).toBe(200);
    const exists = await c.put('data/projects/AUTO/resources/MANIFESTS');
    expect(exists.statusCode).toBe(409);
    expect(h3(exists.body)).toBe('Specified resource already exists.');

    const url = 'data/projects/AUTO/resources/MANIFESTS/files/run1/manifest.tcia?inbody=true&format=TCIA&content=MANIFEST';
    const first = await c.put(url, { body: 'v1' });
    expect(first.statusCode).toBe(200);
    expect(first.body).toBe('');
    const dup = await c.put(url, { body: 'v2' });
    expect(dup.statusCode).toBe(200);
    expect(dup.headers['content-type']).toMatch(/^text\/html/);
    expect(dup.body).toBe('{"duplicates":["run1/manifest.tcia"]}');
    expect(emu.projectResource('AUTO', 'MANIFESTS')?.get('run1/manifest.tcia')?.toString()).toBe('v1');
    expect((await c.put(`${url}&overwrite=true`, { body: 'v3' })).body).toBe('');
    expect(emu.projectResource('AUTO', 'MANIFESTS')?.get('run1/manifest.tcia')?.toString()).toBe('v3');
    expect((await c.put('data/projects/AUTO/resources/MANIFESTS/files/empty.txt?inbody=true', { body: '' })).statusCode).toBe(400);

    const form = new FormData();
    form.append('file', new Blob(['a,b\n1,2\n']), 'report.csv');
    expect((await c.post('data/projects/AUTO/resources/REPORTS/files/report.csv', { body: form })).statusCode).toBe(200);
    expect(emu.projectResource('AUTO', 'REPORTS')?.get('report.csv')?.toString()).toBe('a,b\n1,2\n');

    const resources = await c.get('data/projects/AUTO/resources?format=json').json<{ ResultSet: { Result: Record<string, string>[] } }>();
    expect(resources.ResultSet.Result.map((r) => [r.label, r.file_count])).toEqual([
      ['MANIFESTS', '1'],
      ['REPORTS', '1'],
    ]);
    const files = await c.get('data/projects/AUTO/resources/MANIFESTS/files?format=json').json<{ ResultSet: { Result: Record<string, string>[] } }>();
    expect(files.ResultSet.Result[0]).toMatchObject({ Name: 'manifest.tcia', Size: '2', URI: '/data/projects/AUTO/resources/MANIFESTS/files/run1/manifest.tcia' });
    expect((await c.get('data/projects/AUTO/resources/MANIFESTS/files/run1/manifest.tcia')).body).toBe('v3');
    const missing = await c.get('data/projects/AUTO/resources/MANIFESTS/files/nope.txt');
    expect(missing.statusCode).toBe(404);
    expect(h3(missing.body)).toBe('Unable to find file.');
  });

  test('writes need edit rights: the read-only fault makes an owner a collaborator until cleared', async () => {
    emu.faults.set({ kind: 'read-only', user: 'alice', project: 'AUTO' });
    const c = client(emu, 'alice', 'pw');
    expect((await c.put('data/projects/AUTO/resources/X/files/a.txt?inbody=true', { body: 'x' })).statusCode).toBe(403);
    expect((await c.get('data/projects/AUTO?format=json')).statusCode).toBe(200);
    emu.faults.clear();
    expect((await c.put('data/projects/AUTO/resources/X/files/a.txt?inbody=true', { body: 'x' })).statusCode).toBe(200);
  });
});

describe('faults', () => {
  test('status faults answer the first K matching requests with an HTML page', async () => {
    emu.faults.set({ kind: 'status', status: 503, times: 2, path: /\/data\/projects/ });
    const c = client(emu);
    const first = await c.get('data/projects?format=json');
    expect(first.statusCode).toBe(503);
    expect(first.headers['content-type']).toMatch(/^text\/html/);
    expect(h3(first.body)).toBe('Service Unavailable');
    expect((await c.get('data/auth')).statusCode).toBe(200);
    expect((await c.get('data/projects?format=json')).statusCode).toBe(503);
    expect((await c.get('data/projects?format=json')).statusCode).toBe(200);
    expect(emu.requests.filter((r) => r.path === '/data/projects').map((r) => r.status)).toEqual([503, 503, 200]);
    expect(emu.faults.pending()).toHaveLength(0);
  });

  test('late-504 on commit: the client gets 504 while the archive completes behind it', async () => {
    const path = await upload();
    emu.faults.commitTimeout(1, 150);
    const c = client(emu, 'alice', 'pw');
    const res = await c.post(`${path}?action=commit`);
    expect(res.statusCode).toBe(504);
    expect(emu.prearchive('AUTO')[0]?.status).toBe('QUEUED_ARCHIVING');
    await eventually(() => emu.prearchive('AUTO')[0]?.status === 'ARCHIVING');
    const again = await c.post(`${path}?action=commit`);
    expect(again.statusCode).toBe(423);
    await eventually(() => emu.archive('AUTO').length === 1);
    expect(emu.prearchive('AUTO')).toHaveLength(0);
    expect(emu.archive('AUTO')[0]?.scans[0]?.files.map((f) => f.bytes)).toEqual(seriesFiles(a).map((f) => f.data));
    expect(emu.requests.filter((r) => r.query.action === 'commit').map((r) => r.status)).toEqual([504, 423]);
  });

  test('two archives of one study race: the one that finishes second meets "matching files" and stays in CONFLICT', async () => {
    const c = client(emu, 'alice', 'pw');
    const first = await upload();
    // Long enough that a loaded machine still uploads the second session before the background archive ends.
    emu.faults.commitTimeout(1, 2000);
    expect((await c.post(`${first}?action=commit`)).statusCode).toBe(504);
    // The queued entry cannot take more files: the same study and label open a second prearchive session.
    const second = await upload();
    expect(second).not.toBe(first);
    const [busy, open] = emu.prearchive('AUTO').map((s) => s.status).sort();
    expect(['ARCHIVING', 'QUEUED_ARCHIVING']).toContain(busy);
    expect(open).toBe('RECEIVING');
    // The second commit wins the race; the background archive then conflicts.
    expect((await c.post(`${second}?action=commit`)).statusCode).toBe(301);
    await eventually(() => emu.prearchive('AUTO')[0]?.status === 'CONFLICT', 5000);
    expect((await c.get(`${first}/logs/last`)).body).toBe('Session already exists with matching files.');
    expect(emu.archive('AUTO')).toHaveLength(1);
    expect(emu.archive('AUTO')[0]?.scans[0]?.files).toHaveLength(a.imageCount);

    // The other order: the background archive finishes first, and the later commit is refused with a 409.
    expect((await c.delete(first)).statusCode).toBe(200);
    const third = await upload();
    const refused = await c.post(`${third}?action=commit`);
    expect(refused.statusCode).toBe(409);
    expect(h3(refused.body)).toBe('Session already exists with matching files.');
    expect(emu.prearchive('AUTO').map((s) => s.status)).toEqual(['CONFLICT']);
  });

  test('lock faults answer 423 on commit and on import for the matching session', async () => {
    const path = await upload();
    emu.faults.set({ kind: 'lock', project: 'AUTO', label: 'PID-7', times: 2 });
    const c = client(emu, 'alice', 'pw');
    expect((await c.post(`${path}?action=commit`)).statusCode).toBe(423);
    const imp = await c.post('data/services/import?project=AUTO', { body: await zipOf(seriesFiles(a)), headers: ZIP });
    expect(imp.statusCode).toBe(423);
    expect((await c.post(`${path}?action=commit`)).statusCode).toBe(301);
  });

  test('drop faults destroy the connection, at once or mid-upload', async () => {
    emu.faults.set({ kind: 'drop', path: /\/data\/auth/ });
    await expect(got.get(`${emu.url}/data/auth`, { username: 'admin', password: 'admin', retry: { limit: 0 } })).rejects.toMatchObject({ code: 'ECONNRESET' });
    expect((await client(emu).get('data/auth')).statusCode).toBe(200);

    const files = seriesFiles(spec('1.3.6.1.4.1.14519.5.2.1.8000', { imageCount: 4 }));
    const zip = await zipOf(files, { store: true });
    const cut = zip.indexOf(Buffer.from('3.dcm')) + 100;
    emu.faults.set({ kind: 'drop', method: 'POST', path: /services\/import/, afterBytes: cut });
    await expect(client(emu).post('data/services/import?project=AUTO', { body: zip, headers: ZIP })).rejects.toThrow();
    await eventually(() => emu.prearchive('AUTO')[0]?.scans[0]?.files.length === 2);
    const rec = emu.requests.find((r) => r.path === '/data/services/import');
    expect(rec).toMatchObject({ status: 0, bodyBytes: cut });
  });

  test('autoCommit runs the idle job: prevent_auto_commit is held, others archive on code 4', async () => {
    await upload();
    await client(emu, 'alice', 'pw').post('data/services/import?project=AUTO', {
      body: await zipOf(seriesFiles(spec('1.3.6.1.4.1.14519.5.2.1.9000', { patientId: 'OTHER', patientName: 'OTHER^ONE' }))),
      headers: ZIP,
    });
    expect(emu.autoCommit()).toBe(1);
    expect(emu.archive('AUTO').map((s) => s.label)).toEqual(['OTHER']);
    expect(emu.prearchive('AUTO').map((s) => [s.name, s.status])).toEqual([['PID-7', 'RECEIVING']]);
  });
});
