import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CLI, runCli, writeTciaManifest } from '../support/run-cli.js';
import { hasScript, runInTerminal } from '../support/pty.js';
import { FAST, PASSWORD, startWorld, type World } from '../support/world.js';

const UID = '1.3.6.1.4.1.14519.5.2.1.7.3001';
let world: World;
afterEach(async () => world?.close());

/** Nothing reached either server. */
function expectNoRequests(): void {
  expect(world.xnat.requests).toEqual([]);
  expect(world.nbia.requests).toEqual([]);
}

describe('mistakes on the command line stop before the first request', () => {
  it.each([
    [['--dryrun'], /unknown option --dryrun; did you mean --dry-run\?/],
    [['--xnat-password', 'x'], /unknown option --xnat-password; did you mean --xnat-pass\?/],
    [['--colour'], /unknown option --colour\b/],
    [['--log-level', 'verbose'], /--log-level "verbose" is not one of fatal, error, warn, info, debug, trace/],
  ])('import … %p', async (extra, message) => {
    world = await startWorld();
    const manifest = await writeTciaManifest(world.out, 'm.tcia', [UID]);
    const result = await world.run(['import', manifest, '--project', 'TYPO', '--output-dir', world.out, ...extra]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(message);
    // One message per mistake, then the pointer to --help; nothing on stdout (no run started).
    expect(result.stderr.trim().split('\n')).toHaveLength(2);
    expect(result.stdout).toBe('');
    expectNoRequests();
    expect(world.xnat.projectExists('TYPO')).toBe(false);
  });

  it('an unknown command gets the close one suggested', async () => {
    world = await startWorld();
    const result = await world.run(['imprt', 'm.tcia', '--project', 'P']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/unknown command 'imprt'; did you mean import\?/);
    expectNoRequests();
  });

  it('a missing manifest is named, not read as "undefined"', async () => {
    world = await startWorld();
    const result = await world.run(['import', '--project', 'P', '--output-dir', world.out]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/missing argument: import <manifest>/);
    expect(result.stdout + result.stderr).not.toMatch(/undefined/);
    expectNoRequests();
  });

  it('no arguments prints usage, not the sample list', async () => {
    const result = await runCli([]);
    expect(result.exitCode).toBe(2);
    expect(result.stdout).toMatch(/Usage:\n.*import <manifest> --project <ID>/);
    expect(result.stdout).toMatch(/\bcheck\b/);
    expect(result.stdout).not.toMatch(/\.tcia\n/);
  });
});

describe("the original tool's positional form", () => {
  it('takes five arguments when XNAT_PASS is set, and six with a warning', async () => {
    world = await startWorld();
    const manifest = await writeTciaManifest(world.out, 'm.tcia', [UID]);
    const five = await runCli([manifest, world.out, 'ORIG5', world.xnat.url, 'admin'], { XNAT_PASS: PASSWORD, TCIA_URL: world.nbia.url, XTD_SOURCE: 'nbia' });
    expect(five.exitCode).toBe(0);
    expect(five.stdout).not.toMatch(/password was given on the command line/);
    expect(world.xnat.archive('ORIG5')).toHaveLength(1);
    const six = await runCli([manifest, world.out, 'ORIG6', world.xnat.url, 'admin', PASSWORD], { TCIA_URL: world.nbia.url, XTD_SOURCE: 'nbia' });
    expect(six.exitCode).toBe(0);
    expect(six.stdout).toMatch(/set XNAT_PASS and leave out the last argument/);
  });

  it('five arguments without XNAT_PASS and no terminal: says which credential is missing', async () => {
    world = await startWorld();
    const manifest = await writeTciaManifest(world.out, 'm.tcia', [UID]);
    const result = await runCli([manifest, world.out, 'ORIG', world.xnat.url, 'admin'], { TCIA_URL: world.nbia.url, XTD_SOURCE: 'nbia' });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/no XNAT password given for user 'admin': XNAT_PASS is not set/);
    expectNoRequests();
  });
});

describe('wrong scheme or base URL: the fix, exit 2, nothing imported', () => {
  it.each([
    ['https:// to a plain-HTTP XNAT', (url: string) => url.replace('http://', 'https://')],
    ['no scheme (https assumed)', (url: string) => url.replace('http://', '')],
  ])('%s', async (_name, host) => {
    world = await startWorld();
    const manifest = await writeTciaManifest(world.out, 'm.tcia', [UID]);
    const result = await world.run(['import', manifest, '--project', 'SCHEME', '--output-dir', world.out], { env: { XNAT_HOST: host(world.xnat.url) } });
    expect(result.exitCode).toBe(2);
    const plain = world.xnat.url;
    expect(result.stdout).toContain(`this server does not speak HTTPS; did you mean ${plain}?`);
    expect(result.stdout).not.toMatch(/EPROTO|wrong version number/);
    expect(world.imports()).toBe(0);
  });

  it('a login XNAT redirects: expired password, account disabled for inactivity, http to https; exit 2 with what to do', async () => {
    world = await startWorld({ xnat: { users: [
      { username: 'admin', password: PASSWORD, admin: true, passwordExpired: true },
      { username: 'idle', password: PASSWORD, inactive: true },
    ] } });
    const manifest = await writeTciaManifest(world.out, 'm.tcia', [UID]);
    const args = ['import', manifest, '--project', 'REDIRECT', '--output-dir', world.out];
    const expired = await world.run(args);
    expect(expired.exitCode).toBe(2);
    expect(expired.stdout).toContain(`the XNAT password of user 'admin' has expired (change it in XNAT's web UI (${world.xnat.url}), then run again)`);
    const idle = await world.run(args, { env: { XNAT_USER: 'idle' } });
    expect(idle.exitCode).toBe(2);
    expect(idle.stdout).toContain("XNAT account 'idle' is disabled");
    const check = await world.run(['check', '--project', 'REDIRECT', '--output-dir', world.out]);
    expect(check.stdout).toMatch(/✗ credentials: the XNAT password of user 'admin' has expired → change it in XNAT's web UI/);

    // A front end that sends every http request to https.
    const proxy = createServer((req, res) => res.writeHead(301, { Location: `https://127.0.0.1:${(proxy.address() as AddressInfo).port}${req.url}` }).end());
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const http = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      const moved = await world.run(args, { env: { XNAT_HOST: http } });
      expect(moved.exitCode).toBe(2);
      expect(moved.stdout).toContain(`XNAT at ${http} redirects to https: use ${http.replace('http:', 'https:')}`);
    } finally {
      proxy.close();
    }
    expect(world.imports()).toBe(0);
  });

  it('a base URL with a wrong path', async () => {
    world = await startWorld();
    const manifest = await writeTciaManifest(world.out, 'm.tcia', [UID]);
    const result = await world.run(['import', manifest, '--project', 'PATH', '--output-dir', world.out], { env: { XNAT_HOST: `${world.xnat.url}/xnat-wrong` } });
    expect(result.exitCode).toBe(2);
    expect(result.stdout).toContain(`no XNAT answers at ${world.xnat.url}/xnat-wrong; check the base URL (it is the address of the XNAT home page)`);
    expect(world.imports()).toBe(0);
  });
});

describe('small things users notice', () => {
  it('--insecure warns once; run.log.jsonl has level names', async () => {
    world = await startWorld();
    const manifest = await writeTciaManifest(world.out, 'm.tcia', [UID]);
    const result = await world.run(['import', manifest, '--project', 'INSEC', '--output-dir', world.out, '--insecure']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout.match(/TLS certificates .* not verified/g)).toHaveLength(1);
    const levels = (await readFile(join(world.out, 'latest', 'run.log.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l).level);
    expect(levels).toContain('info');
    expect(levels).toContain('warn');
    expect(levels.every((l) => typeof l === 'string')).toBe(true);
  });

  it('a log level that hides info or error lines still leaves the summary, with the exit status, once', async () => {
    world = await startWorld();
    const manifest = await writeTciaManifest(world.out, 'm.tcia', [UID]);
    for (const level of ['warn', 'error', 'fatal']) {
      const result = await world.run(['import', manifest, '--project', 'LEVEL', '--output-dir', world.out, '--log-level', level]);
      expect(result.exitCode).toBe(0);
      expect(result.stdout.match(/summary: .*exit 0/g)).toHaveLength(1);
    }
    const refused = await world.run(['import', manifest, '--project', 'LEVEL', '--output-dir', world.out, '--log-level', 'fatal'], { env: { XNAT_PASS: 'wrong' } });
    expect(refused.exitCode).toBe(2);
    expect(refused.stdout.match(/summary: .*exit 2/g)).toHaveLength(1);
    // No error line is shown at fatal, so the summary itself says why.
    expect(refused.stdout).not.toMatch(/stopped on the error above/);
    expect(refused.stdout).toMatch(/summary: nothing imported; exit 2: .*admin/);
  });

  it('a retry warning names the series', async () => {
    world = await startWorld();
    world.nbia.faults.set({ failFirst: { count: 1, endpoint: 'getImage' } });
    const manifest = await writeTciaManifest(world.out, 'm.tcia', [UID]);
    const result = await world.run(['import', manifest, '--project', 'RETRY', '--output-dir', world.out, ...FAST]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`WARN: series ${UID.replace(/\./g, '\\.')} \\(\\S+\\) attempt 1 of \\d+ failed, retrying`));
  });

  it('output piped into a reader that goes away ends quietly', async () => {
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(CLI, ['manifests'], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.destroy(); // like `| head` exiting before the tool writes
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.on('close', (code) => resolve({ code, stderr }));
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });
});

describe('help text wraps on word boundaries', () => {
  /** Words and phrases a cut would break (the old output had `--project <\nID>`, `the o\nriginal`, `TCIA_U\nRL]`). */
  const PHRASES: Record<string, string[]> = {
    '--help': ['--project <ID> [options]', "(the original tool's form; leave out the password and set XNAT_PASS)", 'SIGINT/SIGTERM.'],
    'import --help': ['[env: TCIA_URL]', "(default: from the manifest's downloadServerUrl)", 'NODE_EXTRA_CA_CERTS', 'run.log.jsonl', 'SeriesInstanceUID'],
    'check --help': ['[env: XNAT_HOST]', 'XNAT password or token secret; prefer XNAT_PASS'],
  };

  function expectWrapped(text: string, width: number, args: string[]): void {
    for (const line of text.split('\n')) expect(line.length).toBeLessThanOrEqual(width);
    const flowed = text.replace(/\s+/g, ' ');
    for (const phrase of PHRASES[args.join(' ')]!) expect(flowed).toContain(phrase);
  }

  it('piped: 80 columns, for the main help and each command', async () => {
    for (const args of [['--help'], ['import', '--help'], ['check', '--help']]) {
      const result = await runCli(args);
      expect(result.exitCode).toBe(0);
      expectWrapped(result.stdout, 80, args);
    }
  });

  (hasScript ? it.each([50, 72, 100, 160]) : it.skip.each([50]))('on a %i-column terminal', async (columns) => {
    for (const args of [['--help'], ['import', '--help']]) expectWrapped(await runInTerminal([CLI, ...args], { columns }), Math.min(columns, 120), args);
  });
});

describe('a password prompt on a terminal', () => {
  (hasScript ? it : it.skip)('asks without echo when XNAT_PASS is missing, then imports', async () => {
    world = await startWorld();
    const manifest = await writeTciaManifest(world.out, 'm.tcia', [UID]);
    const env = { XNAT_HOST: world.xnat.url, XNAT_USER: 'admin', TCIA_URL: world.nbia.url, XTD_SOURCE: 'nbia' };
    const text = await runInTerminal([CLI, 'import', manifest, '--project', 'PROMPT', '--output-dir', world.out, '--progress', 'off'], { env, answer: { after: /XNAT password for admin/, text: `${PASSWORD}\r` } });
    expect(text).toMatch(/XNAT password for admin at http:\/\/127\.0\.0\.1:\d+: /);
    expect(text).not.toContain(PASSWORD);
    expect(text).toMatch(/summary: 1 imported/);
    expect(world.xnat.archive('PROMPT')).toHaveLength(1);
  });
});
