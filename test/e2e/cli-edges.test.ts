/**
 * The command line at its edges, spawned as a user runs it: values yargs would read quietly (a switch given a
 * value, an empty option, a password starting with '-'), arguments after `--`, the original form with too much on
 * it, and a stop during a dry run. Every mistake ends with exit 2 before the first request, and no message echoes
 * the password.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli, writeTciaManifest, type CliResult } from '../support/run-cli.js';
import { PASSWORD, startWorld, type World } from '../support/world.js';

const UID = '1.3.6.1.4.1.14519.5.2.1.7.3001';
/** A password that starts with '-' and that yargs would otherwise split into single-letter flags. */
const DASHED = '-Zq9secret';
let world: World;
afterEach(async () => world?.close());

function expectRefusedQuietly(result: CliResult, message: RegExp): void {
  expect(result.exitCode).toBe(2);
  expect(result.stderr).toMatch(message);
  expect(result.stdout).toBe('');
  for (const secret of [PASSWORD, DASHED, 'Zq9secret']) expect(result.stdout + result.stderr).not.toContain(secret);
  expect(world.xnat.requests).toEqual([]);
  expect(world.nbia.requests).toEqual([]);
}

describe('values the parser would take quietly are refused before the first request', () => {
  it.each([
    [['--dry-run=yes'], /--dry-run takes no value, or exactly =true or =false \(given 'yes'\)/],
    [['--dry-run=1'], /--dry-run takes no value/],
    [['--insecure=on'], /--insecure takes no value/],
    [['--xnat-pass', DASHED], /the value after --xnat-pass starts with '-'.*--xnat-pass=<password>/],
    [['--xnat-pass='], /--xnat-pass is empty \(give it a value, or leave it out to use XNAT_PASS\)/],
    [['--project', ''], /--project is empty/],
    [['-o', ''], /-o is empty/],
    [['--xnat-pass'], /--xnat-pass is empty \(give it a value, or leave it out to use XNAT_PASS\)/],
    [['--', 'extra.tcia'], /unexpected argument 'extra.tcia'/],
    [['--stall-timeout', '-5'], /--stall-timeout must be a number of seconds above 0/],
    // yargs would give these '' (hiding TCIA_URL) or nothing (the default), and go on with the next option.
    [['--tcia-url', '--dry-run'], /--tcia-url has no value \(the next word, --dry-run, is an option\) \(give it a value, or leave it out to use TCIA_URL\)/],
    [['-c', '--dry-run'], /-c has no value \(the next word, --dry-run, is an option\)/],
    [['-cq'], /-c in -cq takes a value \(write -c <value> on its own\)/],
    [['--concurrency', 'four'], /--concurrency must be a whole number from 1 to 64 \(got not a number\)/],
    // yargs negates any option, and would hand `false` to code that wants a path or URL.
    [['--no-idc-endpoint'], /unknown option --no-idc-endpoint: --idc-endpoint takes a value/],
    [['--no-output-dir'], /unknown option --no-output-dir: --output-dir takes a value/],
    // A preview flag would be ignored while a real import ran.
    [['--plan-table'], /--plan-table goes with --dry-run: it lists the plan instead of importing/],
  ])('import <manifest> --project P … %p', async (extra, message) => {
    world = await startWorld();
    const manifest = await writeTciaManifest(world.out, 'm.tcia', [UID]);
    const result = await world.run(['import', manifest, '--project', 'EDGE', '--output-dir', world.out, ...extra]);
    expectRefusedQuietly(result, message);
    expect(world.xnat.projectExists('EDGE')).toBe(false);
  });

  it.each([
    ['https://admin:pa/ss-Zq9secret@xnat.example.org'],
    ['https://admin:pa#ss-Zq9secret@xnat.example.org'],
    ['admin:pa?ss-Zq9secret@xnat.example.org'],
    // Parses, as host 'admin' and port 2024 with the rest as its path: refused all the same.
    ['https://admin:2024/Zq9secret@xnat.example.org'],
  ])('XNAT_HOST %p, a URL with a password in it, is refused without echoing it', async (host) => {
    world = await startWorld();
    const manifest = await writeTciaManifest(world.out, 'm.tcia', [UID]);
    for (const command of ['import', 'check']) {
      const args = command === 'import' ? ['import', manifest, '--project', 'EDGE', '--output-dir', world.out] : ['check', '--project', 'EDGE'];
      const result = await world.run(args, { env: { XNAT_HOST: host } });
      expect(result.exitCode).toBe(2);
      expect(result.stdout + result.stderr).toMatch(/holds '@': credentials do not belong in it/);
      expect(result.stdout).not.toContain('Zq9secret');
      expectRefusedQuietly({ ...result, stdout: '' }, /XNAT_USER and XNAT_PASS/);
    }
  });

  it.each([
    [(manifest: string) => ['run', manifest, '--project', 'EDGE'], /unknown command 'run' \(the commands are import, check, manifests/],
    [(manifest: string) => ['imprt', manifest, '--project', 'EDGE'], /unknown command 'imprt'; did you mean import\?/],
    [() => ['import', '-', '--project', 'EDGE'], /a manifest cannot be read from standard input \(give the path of the \.tcia or CSV file\)/],
    [() => ['check', '--no-project'], /unknown option --no-project: --project takes a value \(write --project <ID>\)/],
  ])('a command line that is not what it looks like: %#', async (argv, message) => {
    world = await startWorld();
    const manifest = await writeTciaManifest(world.out, 'm.tcia', [UID]);
    expectRefusedQuietly(await world.run([...argv(manifest), '--output-dir', world.out]), message);
  });

  it("--tcia-url takes a manifest's downloadServerUrl pasted whole, and choices in any case", async () => {
    world = await startWorld();
    const manifest = await writeTciaManifest(world.out, 'm.tcia', [UID]);
    const result = await world.run(['import', manifest, '--project', 'EDGE', '--output-dir', world.out, '--dry-run', '--tcia-url', `${world.nbia.url}/nbia-api/services/v1/`, '--log-level', 'INFO', '--source', 'NBIA']);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(`TCIA ${world.nbia.url};`);
    expect(world.nbia.requests.length).toBeGreaterThan(0);
    for (const request of world.nbia.requests) expect(request.path).toMatch(/^\/nbia-api\/services\/v\d\/[A-Za-z]+$/);
  });

  it('a manifest after -- is the manifest, even one whose name starts with -', async () => {
    world = await startWorld();
    await writeTciaManifest(world.out, '-m.tcia', [UID]);
    const result = await world.run(['import', '--project', 'SEP', '--output-dir', world.out, '--', '-m.tcia'], { cwd: world.out });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(world.xnat.archive('SEP')).toHaveLength(1);
  });
});

describe("the original form's sixth argument is a password", () => {
  it('seven arguments are refused without echoing any of them', async () => {
    world = await startWorld();
    const manifest = await writeTciaManifest(world.out, 'm.tcia', [UID]);
    const result = await runCli([manifest, world.out, 'ORIG', world.xnat.url, 'admin', PASSWORD, 'extra']);
    expectRefusedQuietly(result, /the original form takes 5 or 6 arguments .*; 7 were given/);
  });

  it('an option in its place is refused, not sent to XNAT as the password', async () => {
    world = await startWorld();
    const manifest = await writeTciaManifest(world.out, 'm.tcia', [UID]);
    const result = await runCli([manifest, world.out, 'ORIG', world.xnat.url, 'admin', '--dry-run'], { XNAT_PASS: PASSWORD });
    expectRefusedQuietly(result, /the original form takes no options.*set XNAT_PASS and leave it out/);
  });
});

describe('a stop during a dry run', () => {
  it('ends with the signal\'s exit code, in the report too, and no stack trace', async () => {
    // NBIA's v1 API has no PatientName, so planning reads each study's first file, slowly.
    world = await startWorld({ nbia: { v4: false, bytesPerSecond: 50_000, shape: { imagesPerSeries: [20, 20], rows: 128, columns: 128 } } });
    const manifest = await writeTciaManifest(world.out, 'm.tcia', [UID]);
    let sent = false;
    const result = await world.run(['import', manifest, '--project', 'DRY', '--dry-run', '--output-dir', world.out], {
      onStdout: (text, kill) => {
        if (sent || !/manifest m\.tcia/.test(text)) return;
        sent = true;
        kill('SIGINT');
      },
    });
    expect(result.exitCode).toBe(130);
    expect(result.stdout).toMatch(/SIGINT received/);
    expect(result.stderr).toBe('');
    const report = JSON.parse(await readFile(join(world.out, 'latest', 'report.json'), 'utf8')) as { exitCode: number; outcome: string };
    expect(report.exitCode).toBe(130);
    expect(report.outcome).toMatch(/stopped by SIGINT/);
    expect(world.xnat.projectExists('DRY')).toBe(false);
  });
});
