import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeTciaManifest } from '../support/run-cli.js';
import { expectArchivedAsServed, startWorld, type World } from '../support/world.js';

let world: World | undefined;
afterEach(async () => world?.close());

describe('XNAT emulator storage', () => {
  it('keeps received DICOM files on disk, in a temp folder that close() removes', async () => {
    world = await startWorld({ nbia: { shape: { imagesPerSeries: [8, 8], rows: 128, columns: 128 } } });
    const uids = ['1.3.6.1.4.1.14519.5.2.1.7.5001', '1.3.6.1.4.1.14519.5.2.1.7.5002'];
    const manifest = await writeTciaManifest(world.out, 'disk.tcia', uids);
    expect((await world.run(['import', manifest, '--project', 'DISK', '--output-dir', world.out])).exitCode).toBe(0);
    expectArchivedAsServed(world, 'DISK', uids);

    const dir = world.xnat.storageDir;
    const archived = world.xnat.archive('DISK').flatMap((s) => s.scans.flatMap((x) => x.files));
    const onDisk = readdirSync(dir).map((name) => statSync(join(dir, name)).size);
    expect(archived).toHaveLength(16);
    // Every archived byte is in a file there (a retry's replaced instances are removed, so nothing else is).
    expect(onDisk.reduce((a, b) => a + b, 0)).toBe(archived.reduce((n, f) => n + f.bytes.length, 0));
    await world.close();
    world = undefined;
    expect(existsSync(dir)).toBe(false);
  });

  it('npm run emulators takes fixed ports and prints the alias token with its secret', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/emulators.ts', '--nbia-port', '0', '--xnat-port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('Ctrl-C')) resolve();
      });
      child.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
    });
    const secret = /alias token: +user (\S+) +secret (\S+)/.exec(out);
    expect(secret).not.toBeNull();
    const xnatUrl = /XNAT emulator: +(\S+)/.exec(out)![1]!;
    const auth = `Basic ${Buffer.from(`${secret![1]}:${secret![2]}`).toString('base64')}`;
    expect((await fetch(`${xnatUrl}/data/projects?format=json`, { headers: { authorization: auth } })).status).toBe(200);
    const storage = /archived files in (\S+),/.exec(out)![1]!;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    expect(existsSync(storage)).toBe(false);

    // A fixed port is honoured.
    const port = Number(new URL(xnatUrl).port);
    const again = spawn(process.execPath, ['--import', 'tsx', 'scripts/emulators.ts', '--xnat-port', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    await new Promise<void>((resolve) => again.stdout.on('data', (chunk: Buffer) => ((text += chunk.toString()).includes('Ctrl-C') ? resolve() : undefined)));
    expect(text).toContain(`XNAT emulator:        http://127.0.0.1:${port} `);
    const done = new Promise((resolve) => again.once('exit', resolve));
    again.kill('SIGTERM');
    await done;
  }, 60_000);
});
