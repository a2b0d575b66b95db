/**
 * Peak RSS of planning against IDC's index as pyarrow writes it (docs/reference/idc.md#index): one row group of
 * 600,000 rows in ~1 MB pages, no page index. The CLI is spawned as a user runs it (`--dry-run --source idc`), and the
 * kernel's high-water mark is read at its exit through the bench's memory probe, as in idc-rss.test.ts. Reading the
 * group whole held every row's UID at once: 278-395 MB here; in windows of 131,072 rows, 117-118 MB. The wanted
 * series sit at the first window's edges and at the file's first and last rows.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { seriesSpecFromUid } from '../../emulators/dicom/synthetic-series.js';
import { IdcCatalog, indexRow } from '../../emulators/idc/index.js';
import { EmulatorProcess } from '../../emulators/process.js';
import { WINDOW_ROWS } from '../../src/sources/idc/index-reader.js';
import { RSS_USER, runIdcCliMeasured } from '../support/measured-cli.js';
import { latestReport, tempDir, writeTciaManifest } from '../support/run-cli.js';

const LIMIT_MB = 200;
const ROWS = 600_000;
const AT = [0, WINDOW_ROWS - 1, WINDOW_ROWS, ROWS - 1];
const SHAPE = { imagesPerSeries: [2, 2] as [number, number], rows: 64, columns: 64, modalities: ['CT'] };
const collection = AT.map((row) => seriesSpecFromUid(`1.3.6.1.4.1.14519.5.2.1.99.13.${row}`, SHAPE));
let dir: string;
let idc: EmulatorProcess;
let xnat: EmulatorProcess;

beforeAll(async () => {
  dir = await tempDir('xtd-index-rss-');
  const placed = Object.fromEntries(new IdcCatalog(collection).entries().map((entry, k) => [AT[k]!, indexRow(entry)]));
  const indexFile = join(dir, 'tcia_idc_subset.parquet');
  await promisify(execFile)(process.execPath, ['--import', 'tsx', join('test', 'support', 'pyarrow-index.ts'), indexFile, String(ROWS), JSON.stringify(placed)]);
  [idc, xnat] = await Promise.all([
    EmulatorProcess.start({ kind: 'idc', options: { collection, indexFile } }),
    EmulatorProcess.start({ kind: 'xnat', options: { users: [RSS_USER] } }),
  ]);
}, 120_000);
afterAll(async () => Promise.all([idc?.close(), xnat?.close()]));

it(`plans against a ${ROWS}-row single-group index within ${LIMIT_MB} MB of peak RSS, finding every series`, async () => {
  const manifest = await writeTciaManifest(dir, 'rss.tcia', collection.map((s) => s.seriesUid));
  const out = join(dir, 'out');
  const { result, maxRss } = await runIdcCliMeasured(['import', manifest, '--project', 'RSS', '--dry-run', '--output-dir', out], { idc, xnat }, dir, 120_000);
  expect(result.stderr).toBe('');
  expect(result.exitCode).toBe(0);
  const report = await latestReport<{ series: { seriesUid: string; status: string; source?: string }[] }>(out);
  expect(report.series.map((s) => [s.seriesUid, s.status, s.source])).toEqual(collection.map((s) => [s.seriesUid, 'planned', 'idc']));
  process.stdout.write(`idc-index-rss.test: peak RSS ${maxRss} MB (limit ${LIMIT_MB} MB) planning against ${ROWS} rows in one row group\n`);
  expect(maxRss).toBeLessThanOrEqual(LIMIT_MB);
}, 180_000);
