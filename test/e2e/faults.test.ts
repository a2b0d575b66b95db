import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeTciaManifest, type CliResult } from '../support/run-cli.js';
import { expectArchivedAsServed, FAST, startWorld, type World } from '../support/world.js';

const UIDS = ['1.3.6.1.4.1.14519.5.2.1.7.1001', '1.3.6.1.4.1.14519.5.2.1.7.1002', '1.3.6.1.4.1.14519.5.2.1.7.1003'];
let world: World;
afterEach(async () => world?.close());

async function importAll(project: string, extra: string[] = []): Promise<Awaited<ReturnType<World['run']>>> {
  const manifest = await writeTciaManifest(world.out, 'faults.tcia', UIDS);
  return world.run(['import', manifest, '--project', project, '--output-dir', world.out, ...FAST, ...extra]);
}

/** Exit code 0; a run that failed shows its own log, so a failure seen only under CI's load can be read from CI's output. */
function expectSucceeded(result: CliResult): void {
  expect({ exitCode: result.exitCode, log: result.exitCode === 0 ? '' : result.stdout.slice(-4000) }).toEqual({ exitCode: 0, log: '' });
}

async function report(): Promise<{ exitCode: number; series: { seriesUid: string; status: string; attempts: number; error: string }[] }> {
  return JSON.parse(await readFile(join(world.out, 'latest', 'report.json'), 'utf8'));
}

describe('TCIA faults: retried until the archive is byte-identical and complete', () => {
  it.each([
    ['500 outage on the first two downloads', { failFirst: { count: 2, endpoint: 'getImage' } }],
    ['429 with Retry-After', { failFirst: { count: 1, status: 429, retryAfter: 1, endpoint: 'getImage' } }],
    ['a zip cut off mid-stream', { truncateAfterBytes: { bytes: 30_000, count: 2 } }],
    ['a download that stalls', { stallAfterBytes: { bytes: 20_000, count: 1 } }],
    ['one corrupted byte (MD5 mismatch)', { corruptByte: { entryIndex: 1, count: 2 } }],
    ['an HTML page with status 200', { htmlInsteadOfZip: { count: 1 } }],
  ])('%s', async (_name, fault) => {
    world = await startWorld();
    world.nbia.faults.set(fault as Parameters<World['nbia']['faults']['set']>[0]);
    const result = await importAll('TCIAFAULT');
    expectSucceeded(result);
    expect(world.nbia.faults.fired.length).toBeGreaterThan(0);
    expectArchivedAsServed(world, 'TCIAFAULT', UIDS);
    expect(result.stdout).toMatch(/retrying/);
  });

  it('a series that stays corrupt fails alone: the others are archived, no partial scan is left, exit 1', async () => {
    world = await startWorld();
    world.nbia.faults.set({ corruptByte: { entryIndex: 0, count: Infinity, seriesUid: UIDS[1] } });
    const result = await importAll('CORRUPT', ['--retries', '2']);
    expect(result.exitCode).toBe(1);
    expectArchivedAsServed(world, 'CORRUPT', [UIDS[0]!, UIDS[2]!]);
    expect(world.xnat.archive('CORRUPT').flatMap((s) => s.scans).some((s) => s.seriesInstanceUid === UIDS[1])).toBe(false);
    const failed = (await report()).series.find((r) => r.seriesUid === UIDS[1])!;
    expect(failed).toMatchObject({ status: 'failed', attempts: 2 });
    expect(failed.error).toMatch(/MD5 [0-9a-f]{32} does not match TCIA's/);
    expect(result.stdout).toMatch(new RegExp(`failed: ${UIDS[1]!.replace(/\./g, '\\.')}.*MD5`));
  });

  it('a zip holding a non-DICOM entry that md5hashes.csv does not list fails that series with a clear reason', async () => {
    world = await startWorld();
    world.nbia.faults.set({ nonDicomEntry: { seriesUid: UIDS[0], count: Infinity } });
    const result = await importAll('NONDICOM');
    expect(result.exitCode).toBe(1);
    expectArchivedAsServed(world, 'NONDICOM', [UIDS[1]!, UIDS[2]!]);
    expect((await report()).series[0]!.error).toMatch(/readme\.txt is not listed in md5hashes\.csv/);
  });

  it.each([
    ['under the same name', undefined, /TCIA sent two files named 00000002\.dcm/],
    ['in a folder, under the same bare name', 'other/00000002.dcm', /MD5|both checked against the one line for 00000002\.dcm/],
  ])('a damaged second copy of a file %s fails that series, never reaches the archive, and a rerun does not count it as there', async (_how, name, reason) => {
    world = await startWorld();
    world.nbia.faults.set({ duplicateEntry: { entryIndex: 1, name, seriesUid: UIDS[1], count: Infinity } });
    for (const run of [1, 2]) {
      const result = await importAll('DUPLICATE', ['--attempts', '1']);
      expect({ run, exitCode: result.exitCode }).toEqual({ run, exitCode: 1 });
      expectArchivedAsServed(world, 'DUPLICATE', [UIDS[0]!, UIDS[2]!]);
      expect(world.xnat.archive('DUPLICATE').flatMap((s) => s.scans).some((s) => s.seriesInstanceUid === UIDS[1])).toBe(false);
      expect((await report()).series.find((r) => r.seriesUid === UIDS[1])).toMatchObject({ status: 'failed', error: expect.stringMatching(reason) });
    }
  });
});

describe('an XNAT that keeps none of a series', () => {
  it('a site series import filter dropping every file fails that series with the reason, the rest archived, exit 1', async () => {
    world = await startWorld({ xnat: { excludeModalities: ['MR'] }, nbia: { shape: { modalities: ['CT', 'MR'] } } });
    const dropped = UIDS.filter((uid) => world.nbia.spec(uid)!.modality === 'MR');
    expect(dropped.length).toBeGreaterThan(0);
    expect(dropped.length).toBeLessThan(UIDS.length);
    const result = await importAll('FILTERED', ['--attempts', '1']);
    expect(result.exitCode).toBe(1);
    expectArchivedAsServed(world, 'FILTERED', UIDS.filter((uid) => !dropped.includes(uid)));
    const failed = (await report()).series.filter((r) => r.status === 'failed');
    expect(failed.map((r) => r.seriesUid).sort()).toEqual([...dropped].sort());
    for (const row of failed) expect(row.error).toMatch(/XNAT import kept no file of the series .*series import filter/);
  });
});

describe('XNAT faults', () => {
  it.each([
    ['503 on the first import', { kind: 'status', status: 503, method: 'POST', path: /services\/import/ }],
    ['a dropped connection during an import', { kind: 'drop', method: 'POST', path: /services\/import/, afterBytes: 10_000 }],
    ['a locked session (423)', { kind: 'lock', times: 1 }],
    ['502 on a metadata read', { kind: 'status', status: 502, method: 'GET', path: /experiments/ }],
  ])('%s is retried', async (_name, fault) => {
    world = await startWorld();
    world.xnat.faults.set(fault as Parameters<World['xnat']['faults']['set']>[0]);
    const result = await importAll('XFAULT');
    expectSucceeded(result);
    expectArchivedAsServed(world, 'XFAULT', UIDS);
  });

  it('a 504 on commit is not re-sent blindly: the tool waits until XNAT has archived', async () => {
    world = await startWorld();
    world.xnat.faults.set({ kind: 'late-504', times: 1, archiveDelayMs: 500 });
    const result = await importAll('LATE504');
    expectSucceeded(result);
    expect(result.stdout).toMatch(/commit answer lost/);
    expectArchivedAsServed(world, 'LATE504', UIDS);
    const commits = world.xnat.requests.filter((r) => r.query.action === 'commit');
    expect(commits).toHaveLength(UIDS.length);
  });

  it('an expired session is renewed with one fresh login, and the cookie is reused otherwise', async () => {
    world = await startWorld();
    const manifest = await writeTciaManifest(world.out, 'faults.tcia', UIDS);
    // Expire every login session once the first series is on its way, so the run's cookie goes stale mid-run.
    let expired = false;
    const result = await world.run(['import', manifest, '--project', 'EXPIRE', '--output-dir', world.out, ...FAST, '--concurrency', '1'], {
      onStdout: (text) => {
        if (expired || !/series .* → /.test(text)) return;
        expired = true;
        world.xnat.faults.expireSessionsNow();
      },
    });
    expectSucceeded(result);
    expectArchivedAsServed(world, 'EXPIRE', UIDS);
    // The expiry really hit the run (a stale cookie came back) and was answered by a fresh login.
    expect(world.xnat.stats.staleCookies).toBeGreaterThan(0);
    expect(world.xnat.stats.logins).toBeGreaterThanOrEqual(2);
    expect(world.xnat.stats.logins).toBeLessThanOrEqual(3);
  });
});

describe('interruptions', () => {
  it('SIGTERM stops cleanly: the report is written and uploaded, exit 143, and a rerun completes the rest', async () => {
    world = await startWorld({ nbia: { bytesPerSecond: 400_000, shape: { imagesPerSeries: [20, 20], rows: 128, columns: 128 } } });
    const manifest = await writeTciaManifest(world.out, 'stop.tcia', UIDS);
    const args = ['import', manifest, '--project', 'STOP', '--output-dir', world.out, ...FAST, '--concurrency', '1'];
    let sent = false;
    const stopped = await world.run(args, {
      onStdout: (text, kill) => {
        if (sent || !/series .* → /.test(text)) return;
        sent = true;
        kill('SIGTERM');
      },
    });
    expect(stopped.exitCode).toBe(143);
    expect(stopped.stdout).toMatch(/SIGTERM received/);
    const first = await report();
    expect(first.exitCode).toBe(143);
    expect(first.series.some((r) => r.status !== 'imported')).toBe(true);
    expect([...(world.xnat.projectResource('STOP', 'TCIA_IMPORT_LOGS')?.keys() ?? [])].some((k) => k.endsWith('report.json'))).toBe(true);

    const rerun = await world.run(args);
    expectSucceeded(rerun);
    expect((await report()).exitCode).toBe(0);
    expectArchivedAsServed(world, 'STOP', UIDS);
  });

  it('after kill -9 at any moment, a rerun ends with every series archived once and an empty prearchive', async () => {
    for (const at of [/→ /, /committed session/, /plan: /]) {
      world = await startWorld({ nbia: { bytesPerSecond: 600_000, shape: { imagesPerSeries: [15, 15], rows: 128, columns: 128 } } });
      const manifest = await writeTciaManifest(world.out, 'kill.tcia', UIDS);
      const args = ['import', manifest, '--project', 'KILL', '--output-dir', world.out, ...FAST, '--concurrency', '2'];
      const killed = await world.run(args, { onStdout: (text, kill) => (at.test(text) ? kill('SIGKILL') : undefined) });
      // SIGKILL cannot be caught: whatever the run had done by then is all a rerun has to work with.
      expect(killed.signal).toBe('SIGKILL');
      const rerun = await world.run(args);
      expectSucceeded(rerun);
      expect((await report()).exitCode).toBe(0);
      expectArchivedAsServed(world, 'KILL', UIDS);
      await world.close();
    }
  });
});
