import { spawn, spawnSync } from 'node:child_process';
import { CLI, latestReport, writeTciaManifest } from '../support/run-cli.js';
import { startWorld, type World } from '../support/world.js';

const UIDS = ['1.2.826.0.1.3680043.8.498.1', '1.2.826.0.1.3680043.8.498.2', '1.2.826.0.1.3680043.8.498.3', '1.2.826.0.1.3680043.8.498.4'];
let world: World;
afterEach(async () => world?.close());

async function slowWorld(): Promise<{ manifest: string }> {
  world = await startWorld({ nbia: { bytesPerSecond: 250_000, shape: { imagesPerSeries: [12, 12], rows: 128, columns: 128 } } });
  return { manifest: await writeTciaManifest(world.out, 'progress.tcia', UIDS) };
}

describe('progress', () => {
  it('without a terminal: a concise line every few seconds, never one per file', async () => {
    const { manifest } = await slowWorld();
    const result = await world.run(['import', manifest, '--project', 'PROG', '--output-dir', world.out, '--progress-interval', '0.5', '--concurrency', '2']);
    expect(result.exitCode).toBe(0);
    const lines = result.stdout.split('\n').filter((l) => l.includes('progress:'));
    const transfer = lines.filter((l) => /progress: \d+\/4 series, \d+ files, [\d.]+ [kMG]B\/[\d.]+ [kMG]B \(\d+%\), [\d.]+ MB\/s, ETA (\d+:\d\d|--:--)/.test(l));
    expect(transfer.length).toBeGreaterThanOrEqual(2);
    expect(lines.length).toBeLessThan(48);
    expect(lines.some((l) => /progress: planning: metadata for 4\/4 series/.test(l))).toBe(true);
    expect(result.stdout).not.toMatch(/\r/);
  });

  it('--progress off and --quiet keep it out', async () => {
    const { manifest } = await slowWorld();
    const off = await world.run(['import', manifest, '--project', 'PROG', '--output-dir', world.out, '--progress-interval', '0.2', '--progress', 'off']);
    expect(off.stdout).not.toMatch(/progress:/);
    const quiet = await world.run(['import', manifest, '--project', 'PROG2', '--output-dir', world.out, '--quiet']);
    expect(quiet.stdout).not.toMatch(/INFO/);
    expect(quiet.stdout).toMatch(/summary: 4 imported/);
  });

  const hasScript = spawnSync('script', ['--version']).status === 0;
  (hasScript ? it : it.skip)('on a terminal: a live bar redrawn in place', async () => {
    const { manifest } = await slowWorld();
    const command = [CLI, 'import', manifest, '--project', 'TTY', '--output-dir', world.out].map((a) => `'${a}'`).join(' ');
    // script(1) gives the CLI a pseudo-terminal, as an interactive shell would.
    const text = await new Promise<string>((resolve) => {
      const child = spawn('script', ['-qfec', command, '/dev/null'], { env: { ...process.env, ...world.env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.on('close', () => resolve(out));
    });
    const ESC = String.fromCharCode(27);
    expect(text).toContain(`\r${ESC}[K[`);
    expect(text).toMatch(/\[[#.]+\] \d\/4 series/);
    expect(text).toMatch(/summary: 4 imported/);
    // The bar's last drawing stays on screen, full, and agrees with the summary's MB/s.
    const bars = text.split(`\r${ESC}[K`).filter((t) => /^\[[#.]+\]/.test(t));
    const last = bars[bars.length - 1]!;
    expect(last).toMatch(/^\[#+\] 4\/4 series, 48 files, ([\d.]+ [kM]B)\/\1 \(100%\), [\d.]+ MB\/s, ETA 0:00\r?\n/);
    expect(rateOf(last)).toBe(rateOf(/summary: .*/.exec(text)![0]));
  });

  it('counts DICOM bytes delivered, once: retried attempts are not added again, and the run ends at 100 % with the summary\'s rate', async () => {
    const { manifest } = await slowWorld();
    // Two attempts fail their MD5 check after every file went out: three deliveries of the same series.
    world.nbia.faults.set({ corruptByte: { entryIndex: 3, count: 2, seriesUid: UIDS[0] } });
    const result = await world.run(['import', manifest, '--project', 'ONCE', '--output-dir', world.out, '--progress', 'on', '--progress-interval', '0.2', '--retry-delay', '0.05']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/retrying/);
    const lines = result.stdout.split('\n').filter((l) => /progress: \d+\/4 series/.test(l));
    const last = lines[lines.length - 1]!;
    // Bytes are uncompressed DICOM, the same unit as the planned total, so the final line reads N/N, 100 %.
    expect(last).toMatch(/4\/4 series, 48 files, ([\d.]+ [kM]B)\/\1 \(100%\), [\d.]+ MB\/s, ETA 0:00/);
    for (const line of lines) expect(Number(/\((\d+)%\)/.exec(line)![1])).toBeLessThanOrEqual(100);
    const summary = /summary: .*/.exec(result.stdout)![0];
    expect(rateOf(last)).toBe(rateOf(summary));
    const report = await latestReport<{ totals: { bytes: number } }>(world.out);
    expect(last).toContain(`${(report.totals.bytes / 1e6).toFixed(1)} MB/`);
  });
});

function rateOf(text: string): string {
  return /([\d.]+) MB\/s/.exec(text)![1]!;
}
