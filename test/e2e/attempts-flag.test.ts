import { runCli, tempDir, writeTciaManifest } from '../support/run-cli.js';

// --attempts counts attempts, the first included; --retries is its old name and still works. A bad value is a
// usage error: exit 2 before any request (the XNAT address below would refuse every connection).
describe('--attempts (old name --retries)', () => {
  const env = { XNAT_HOST: 'http://127.0.0.1:1', XNAT_USER: 'u', XNAT_PASS: 'p', TCIA_URL: 'http://127.0.0.1:1' };

  it.each(['--attempts', '--retries'])('%s 0 is refused as usage, naming --attempts', async (flag) => {
    const dir = await tempDir();
    const manifest = await writeTciaManifest(dir, 'one.tcia', ['1.2.3.4']);
    const result = await runCli(['import', manifest, '--project', 'P', '--output-dir', dir, flag, '0'], env);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/--attempts \(--retries\) must be a whole number from 1 to 20 \(got 0\)/);
  });

  it('is listed in the help as attempts', async () => {
    const result = await runCli(['import', '--help'], env);
    expect(result.stdout).toMatch(/--attempts, --retries\s+Attempts per series, the first included/);
  });
});
