/**
 * The index lookup collects its garbage after each row group when node exposes gc (the CLI runs with --expose-gc).
 * What that saves is measured by `npm run bench` (docs/benchmarks.md, "Planning a large manifest"); this checks the
 * wiring: one collection per row group read, and none needed for the lookup to work without it.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCollection } from '../../emulators/dicom/synthetic-series.js';
import { IdcCatalog, indexParquetFor } from '../../emulators/idc/index.js';

const UIDS = Array.from({ length: 25 }, (_, i) => `1.3.6.1.4.1.14519.5.2.1.81.${i}`);
let dir: string;
const global = globalThis as { gc?: () => void };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'xtd-idc-gc-'));
});
afterAll(async () => {
  delete global.gc;
  await rm(dir, { recursive: true, force: true });
});

it('collects once per row group read, and finds the same series', async () => {
  const path = join(dir, 'index.parquet');
  await writeFile(path, await indexParquetFor(new IdcCatalog(buildCollection(UIDS)).entries(), { rowGroupSize: 10 }));
  let collections = 0;
  global.gc = () => {
    collections += 1;
  };
  // Loaded only now: the reader takes gc when its module is evaluated, as it does in the CLI.
  const { lookupIdcSeries } = await import('../../src/sources/idc/index-reader.js');
  const result = await lookupIdcSeries(path, [UIDS[3]!, UIDS[24]!]);
  expect([...result.series.keys()].sort()).toEqual([UIDS[3], UIDS[24]].sort());
  expect(result.rows).toBe(25);
  expect(collections).toBe(3);
});
