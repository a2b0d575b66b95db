/**
 * Peak RSS of the CLI importing from IDC (issue 12: at most 200 MB whatever the series size), spawned as a user runs
 * it: one series of 600 CT-sized objects and one of 32 MB objects, which stream instead of being held. The
 * kernel's high-water mark of the whole process is read at its exit (VmHWM, through the bench's memory probe
 * preloaded with NODE_OPTIONS), so nothing between samples is missed. Both emulators run in processes of their own.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { seriesSpecFromUid } from '../../emulators/dicom/synthetic-series.js';
import { EmulatorProcess } from '../../emulators/process.js';
import { RSS_USER, runIdcCliMeasured } from '../support/measured-cli.js';
import { tempDir } from '../support/run-cli.js';

const LIMIT_MB = 200;
const CT = { uid: '1.3.6.1.4.1.14519.5.2.1.99.12.700', shape: { imagesPerSeries: [600, 600] as [number, number], rows: 512, columns: 512, modalities: ['CT'] } };
/** 4096×4096 16-bit: 32 MB an object, past the whole-object limit, so these stream. */
const LARGE = { uid: '1.3.6.1.4.1.14519.5.2.1.99.12.701', shape: { imagesPerSeries: [8, 8] as [number, number], rows: 4096, columns: 4096, modalities: ['MG'] } };
let idc: EmulatorProcess;
let xnat: EmulatorProcess;
/** Answers getMD5HashForImage for the 32 MB objects, whose ETags (multipart) are not MD5s. */
let nbia: EmulatorProcess;

beforeAll(async () => {
  const collection = [seriesSpecFromUid(CT.uid, CT.shape), seriesSpecFromUid(LARGE.uid, LARGE.shape)];
  [idc, xnat, nbia] = await Promise.all([
    EmulatorProcess.start({ kind: 'idc', options: { collection } }),
    EmulatorProcess.start({ kind: 'xnat', options: { users: [RSS_USER] } }),
    EmulatorProcess.start({ kind: 'nbia', options: { collection } }),
  ]);
});
afterAll(async () => Promise.all([idc?.close(), xnat?.close(), nbia?.close()]));

it(`imports ~570 MB from IDC within ${LIMIT_MB} MB of peak RSS`, async () => {
  const dir = await tempDir('xtd-rss-');
  const manifest = join(dir, 'rss.tcia');
  await writeFile(manifest, `downloadServerUrl=http://127.0.0.1:9/nbia-download/servlet/DownloadServlet\nListOfSeriesToDownload=\n${CT.uid}\n${LARGE.uid}\n`);
  const { result, maxRss } = await runIdcCliMeasured(['import', manifest, '--project', 'RSS', '--output-dir', join(dir, 'out')], { idc, xnat, nbia }, dir, 240_000);
  expect(result.stderr).toBe('');
  expect(result.exitCode).toBe(0);
  const { archived, prearchive } = await xnat.holdings('RSS');
  expect(archived.files).toBe(608);
  expect(archived.bytes).toBeGreaterThan(570e6);
  expect(prearchive.files).toBe(0);
  process.stdout.write(`idc-rss.test: peak RSS ${maxRss} MB (limit ${LIMIT_MB} MB) for ${(archived.bytes / 1e6).toFixed(0)} MB from IDC\n`);
  expect(maxRss).toBeLessThanOrEqual(LIMIT_MB);
}, 300_000);
