/**
 * A run of more than 40 series prints nothing on stderr: no third-party warnings (MaxListenersExceededWarning
 * from abort listeners left on the run's signal, a DICOM library's console logging), only our own lines on stdout.
 */
import { writeTciaManifest } from '../support/run-cli.js';
import { expectArchivedAsServed, startWorld, type World } from '../support/world.js';

const UIDS = Array.from({ length: 42 }, (_, i) => `1.3.6.1.4.1.14519.5.2.1.7.3${String(i).padStart(3, '0')}`);
let world: World;
afterAll(async () => world?.close());

it('imports 42 series with a clean stderr', async () => {
  world = await startWorld({ nbia: { shape: { imagesPerSeries: [1, 2], rows: 16, columns: 16 } } });
  const manifest = await writeTciaManifest(world.out, 'many.tcia', UIDS);
  const result = await world.run(['import', manifest, '--project', 'MANY', '--output-dir', world.out, '--concurrency', '12'], { timeoutMs: 180_000 });
  expect(result.stderr).toBe('');
  expect(result.exitCode).toBe(0);
  expectArchivedAsServed(world, 'MANY', UIDS);
}, 200_000);
