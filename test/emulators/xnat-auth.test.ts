import got from 'got';
import { startXnatEmulator, type XnatEmulator, type XnatEmulatorOptions } from '../../emulators/xnat/index.js';
import { client, cookieClient, h3 } from '../support/xnat-emulator-helpers.js';

const BROWSER = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120 Safari/537.36';
let emu: XnatEmulator;

async function start(opts?: XnatEmulatorOptions): Promise<XnatEmulator> {
  await emu?.close();
  emu = await startXnatEmulator(opts);
  return emu;
}

beforeEach(async () => {
  await start({
    users: [
      { username: 'admin', password: 'admin', admin: true },
      { username: 'alice', password: 'pw-a' },
      { username: 'bob', password: 'pw-b', canCreateProjects: false },
    ],
    projects: [{ id: 'P1', owners: ['alice'], collaborators: ['bob'] }],
  });
});
afterAll(async () => emu?.close());

describe('authentication', () => {
  test('Basic login sets a 32-hex JSESSIONID and the expiration cookie and header', async () => {
    const res = await client(emu).get('data/auth');
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe("User 'admin' is logged in");
    const cookies = res.headers['set-cookie'] ?? [];
    expect(cookies.some((c) => /^JSESSIONID=[0-9A-F]{32}; Path=\/; HttpOnly$/.test(c))).toBe(true);
    expect(cookies.some((c) => /^SESSION_EXPIRATION_TIME="\d+,900000"/.test(c))).toBe(true);
    expect(res.headers.session_expiration_time).toMatch(/^"\d{13},900000"$/);
    expect(emu.stats.logins).toBe(1);
  });

  test('a cookie is reused without new logins; Basic on every call logs in every time', async () => {
    const c = await cookieClient(emu);
    for (let i = 0; i < 3; i++) expect((await c.get('data/projects?format=json')).statusCode).toBe(200);
    expect(emu.stats.logins).toBe(1);
    const basic = client(emu);
    for (let i = 0; i < 3; i++) await basic.get('data/projects?format=json');
    expect(emu.stats.logins).toBe(4);
    expect(emu.stats.loginsFor('admin')).toBe(4);
    expect(emu.requests.filter((r) => r.path === '/data/projects').every((r) => r.user === 'admin' && r.status === 200)).toBe(true);
  });

  test('GET /data/JSESSION returns the bare id; DELETE invalidates it', async () => {
    const login = await client(emu).get('data/JSESSION');
    expect(login.headers['content-type']).toMatch(/^text\/plain/);
    expect(login.body).toMatch(/^[0-9A-F]{32}$/);
    const cookie = { cookie: `JSESSIONID=${login.body}` };
    expect((await got.get(`${emu.url}/data/auth`, { headers: cookie, throwHttpErrors: false })).statusCode).toBe(200);
    expect((await got.delete(`${emu.url}/data/JSESSION`, { headers: cookie, throwHttpErrors: false })).statusCode).toBe(200);
    const after = await got.get(`${emu.url}/data/auth`, { headers: cookie, throwHttpErrors: false });
    expect(after.statusCode).toBe(401);
    expect(after.headers['www-authenticate']).toBe('Basic realm="XNAT"');
  });

  test('unauthenticated: 401 with a challenge for tools, 302 to Login.vm for browsers', async () => {
    const tool = await got.get(`${emu.url}/data/projects`, { throwHttpErrors: false, headers: { 'user-agent': 'python-requests/2.31' } });
    expect(tool.statusCode).toBe(401);
    expect(tool.headers['www-authenticate']).toBe('Basic realm="XNAT"');
    const browser = await got.get(`${emu.url}/data/projects`, { throwHttpErrors: false, followRedirect: false, headers: { 'user-agent': BROWSER } });
    expect(browser.statusCode).toBe(302);
    expect(browser.headers.location).toBe(`${emu.url}/app/template/Login.vm`);
  });

  test('bad credentials give 401 even for browsers, and are counted', async () => {
    expect((await client(emu, 'admin', 'nope').get('data/auth')).statusCode).toBe(401);
    expect((await client(emu, 'ghost', 'x', BROWSER).get('data/auth')).statusCode).toBe(401);
    expect(emu.stats.failedLogins).toBe(2);
    expect(emu.stats.logins).toBe(0);
  });

  test('alias tokens: issued by the service or the API, usable as Basic credentials', async () => {
    const issued = await client(emu, 'alice', 'pw-a').get('data/services/tokens/issue').json<Record<string, unknown>>();
    expect(issued.alias).toMatch(/^[0-9a-f-]{36}$/);
    expect(issued.secret).toMatch(/^[A-Za-z0-9]{64}$/);
    expect(issued.xdatUserId).toBe('alice');
    expect(typeof issued.estimatedExpirationTime).toBe('number');
    const viaService = await client(emu, issued.alias as string, issued.secret as string).get('data/auth');
    expect(viaService.body).toBe("User 'alice' is logged in");
    const t = emu.issueAliasToken('alice');
    expect((await client(emu, t.alias, t.secret).get('data/projects/P1?format=json')).statusCode).toBe(200);
    expect((await client(emu, t.alias, 'wrong').get('data/auth')).statusCode).toBe(401);
    const valid = await client(emu).get(`data/services/tokens/validate/${t.alias}/${t.secret}`).json();
    expect(valid).toEqual({ valid: 'alice' });
    expect((await client(emu, 'alice', 'pw-a').get('data/services/tokens/issue/user/bob')).statusCode).toBe(403);
    expect((await client(emu, 'alice', 'pw-a').get(`data/services/tokens/invalidate/${t.alias}/${t.secret}`)).statusCode).toBe(200);
    expect((await client(emu, t.alias, t.secret).get('data/auth')).statusCode).toBe(401);
  });

  test('idle sessions expire; an expired cookie without Basic gets 401', async () => {
    await start({ sessionTimeoutMs: 150 });
    const c = await cookieClient(emu);
    expect((await c.get('data/auth')).statusCode).toBe(200);
    await new Promise((r) => setTimeout(r, 250));
    expect((await c.get('data/auth')).statusCode).toBe(401);
  });

  test('form login on /data/services/auth returns a session id; failure is 401', async () => {
    const ok = await got.post(`${emu.url}/data/services/auth`, { form: { username: 'alice', password: 'pw-a' }, throwHttpErrors: false });
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toMatch(/^[0-9A-F]{32}$/);
    const me = await got.get(`${emu.url}/data/auth`, { headers: { cookie: `JSESSIONID=${ok.body}` }, throwHttpErrors: false });
    expect(me.body).toBe("User 'alice' is logged in");
    const bad = await got.put(`${emu.url}/data/services/auth`, { form: { username: 'alice', password: 'x' }, throwHttpErrors: false });
    expect(bad.statusCode).toBe(401);
    expect(h3(bad.body)).toBe('Authentication failed.');
  });

  test('CSRF: a browser-like UA must send XNAT_CSRF on writes; tools are exempt', async () => {
    const login = await client(emu, 'admin', 'admin', BROWSER).get('data/JSESSION?CSRF=true');
    const [id, csrfPart] = login.body.split('; ');
    const csrf = (csrfPart as string).replace('XNAT_CSRF=', '');
    const browser = got.extend({ prefixUrl: emu.url, throwHttpErrors: false, retry: { limit: 0 }, headers: { cookie: `JSESSIONID=${id}`, 'user-agent': BROWSER } });
    expect((await browser.put('data/projects/CSRF1')).statusCode).toBe(500);
    expect((await browser.put(`data/projects/CSRF1?XNAT_CSRF=${csrf}`)).statusCode).toBe(200);
    expect((await browser.get('data/projects/CSRF1?format=json')).statusCode).toBe(200);
    expect((await client(emu).put('data/projects/CSRF2')).statusCode).toBe(200);
  });

  test('the expire-sessions fault invalidates every session, now or later', async () => {
    const c = await cookieClient(emu);
    emu.faults.expireSessionsNow();
    expect((await c.get('data/auth')).statusCode).toBe(401);
    const c2 = await cookieClient(emu);
    emu.faults.expireSessionsAfterMs(100);
    expect((await c2.get('data/auth')).statusCode).toBe(200);
    await new Promise((r) => setTimeout(r, 200));
    expect((await c2.get('data/auth')).statusCode).toBe(401);
  });
});

describe('projects', () => {
  test('unknown and unreadable projects are 404 with the (sic) message in <h3>', async () => {
    for (const [user, pw, id] of [
      ['admin', 'admin', 'NOPE'],
      ['alice', 'pw-a', 'NOPE'],
    ] as const) {
      const res = await client(emu, user, pw).get(`data/projects/${id}?format=json`);
      expect(res.statusCode).toBe(404);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(h3(res.body)).toBe('Unable to find the specified experiment.');
    }
    await emu.close();
    emu = await startXnatEmulator({ users: [{ username: 'eve', password: 'e' }], projects: [{ id: 'SECRET' }] });
    expect((await client(emu, 'eve', 'e').get('data/projects/SECRET?format=json')).statusCode).toBe(404);
  });

  test('project document and listing carry strings', async () => {
    const doc = await client(emu, 'bob', 'pw-b').get('data/projects/P1?format=json').json<{ items: { meta: Record<string, unknown>; data_fields: Record<string, string> }[] }>();
    expect(doc.items[0]?.meta['xsi:type']).toBe('xnat:projectData');
    expect(doc.items[0]?.data_fields).toMatchObject({ ID: 'P1', name: 'P1', secondary_ID: 'P1' });
    const list = await client(emu, 'alice', 'pw-a').get('data/projects?format=json').json<{ ResultSet: { Result: Record<string, string>[]; totalRecords: string } }>();
    expect(list.ResultSet.totalRecords).toBe('1');
    expect(list.ResultSet.Result[0]).toMatchObject({ ID: 'P1', URI: '/data/projects/P1' });
  });

  test('PUT creates with 200 and an empty body; the creator owns it; code defaults to 4', async () => {
    const res = await client(emu, 'alice', 'pw-a').put('data/projects/NEW_1?name=Brand%20New');
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('');
    expect(emu.projectExists('NEW_1')).toBe(true);
    expect((await client(emu, 'alice', 'pw-a').get('data/projects/NEW_1/prearchive_code')).body).toBe('4');
    expect((await client(emu, 'alice', 'pw-a').put('data/projects/NEW_1/prearchive_code/0')).statusCode).toBe(200);
    expect((await client(emu, 'alice', 'pw-a').get('data/projects/NEW_1/prearchive_code')).body).toBe('0');
    expect((await client(emu, 'bob', 'pw-b').get('data/projects/NEW_1?format=json')).statusCode).toBe(404);
  });

  test('PUT errors: 417 bad ID, 403 no creation right, 403 no edit right, 409 name clash', async () => {
    const bad = await client(emu).put('data/projects/bad.id');
    expect(bad.statusCode).toBe(417);
    expect(h3(bad.body)).toBe('Invalid character in project ID.');
    expect((await client(emu, 'bob', 'pw-b').put('data/projects/BOBS')).statusCode).toBe(403);
    expect((await client(emu, 'bob', 'pw-b').put('data/projects/P1')).statusCode).toBe(403);
    const clash = await client(emu).put('data/projects/OTHER?name=p1');
    expect(clash.statusCode).toBe(409);
    expect(h3(clash.body)).toMatch(/^Requested new project conflicts with existing projects: P1/);
    expect(emu.projectExists('OTHER')).toBe(false);
  });

  test('defaultPrearchiveCode applies to created projects', async () => {
    await start({ defaultPrearchiveCode: 0 });
    await client(emu).put('data/projects/M');
    expect((await client(emu).get('data/projects/M/prearchive_code')).body).toBe('0');
  });
});
