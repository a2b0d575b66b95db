import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeTciaManifest } from '../support/run-cli.js';
import { expectArchivedAsServed, FAST, PASSWORD, startWorld, type World } from '../support/world.js';

// XNAT's archive files Segmentation and RT Structure Set instances under a scan resource labelled `secondary`,
// not `DICOM` (docs/reference/xnat-rest.md#scan-resources).
const UIDS = ['1.3.6.1.4.1.14519.5.2.1.7.2001', '1.3.6.1.4.1.14519.5.2.1.7.2002', '1.3.6.1.4.1.14519.5.2.1.7.2003'];
let world: World;
afterEach(async () => world?.close());

async function resourceLabels(project: string): Promise<string[]> {
  const labels: string[] = [];
  for (const session of world.xnat.archive(project)) {
    const url = `${world.xnat.url}/data/experiments/${session.id}?format=json`;
    const response = await fetch(url, { headers: { authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}` } });
    const document = (await response.json()) as { items: { children: { field: string; items: { children: { field: string; items: { data_fields: { label: string } }[] }[] }[] }[] }[] };
    for (const scan of document.items[0]!.children.find((c) => c.field === 'scans/scan')!.items) {
      labels.push(...scan.children.filter((c) => c.field === 'file').flatMap((c) => c.items.map((r) => r.data_fields.label)));
    }
  }
  return labels;
}

it('series XNAT files under its secondary resource count as archived, and a rerun leaves them as they are', async () => {
  world = await startWorld({ nbia: { shape: { modalities: ['SEG', 'RTSTRUCT'], imagesPerSeries: [2, 4] } } });
  const manifest = await writeTciaManifest(world.out, 'seg.tcia', UIDS);
  const args = ['import', manifest, '--project', 'SEGS', '--output-dir', world.out, ...FAST];
  const first = await world.run(args);
  expect({ exitCode: first.exitCode, log: first.exitCode === 0 ? '' : first.stdout.slice(-3000) }).toEqual({ exitCode: 0, log: '' });
  expectArchivedAsServed(world, 'SEGS', UIDS);
  // The archive really holds them where XNAT does, so a count of the DICOM resource alone would find none.
  expect(new Set(await resourceLabels('SEGS'))).toEqual(new Set(['secondary']));

  const imports = world.imports();
  const rerun = await world.run(args);
  expect(rerun.exitCode).toBe(0);
  expect(world.imports()).toBe(imports);
  expect(world.xnat.requests.some((r) => r.method === 'DELETE')).toBe(false);
  const report = JSON.parse(await readFile(join(world.out, 'latest', 'report.json'), 'utf8')) as { series: { status: string }[] };
  expect(report.series.map((r) => r.status)).toEqual(['already-in-xnat', 'already-in-xnat', 'already-in-xnat']);
});
