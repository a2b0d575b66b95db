import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeError, ManifestError } from '../../src/errors.js';
import { readManifest } from '../../src/manifest/read-manifest.js';
import { parseTcia } from '../../src/manifest/parse-tcia.js';

const RESOURCES = join(process.cwd(), 'resources', 'TCIA');

/** Series counts of the 44 real manifests (the original tool's inventory). */
const EXPECTED: Record<string, number> = {
  'Adrenal-ACC-Ki67-Seg_v1.tcia': 177, 'Advanced-MRI-Breast-Lesions-DA-RAD-APR2024.tcia': 6811, 'BSC-DBT-Train-manifest.tcia': 19148,
  'BSC-DBT-Validation-manifest.tcia': 1163, 'CMB-AML_v04_20240828.tcia': 38, 'CMB-AML_v04_20240828_test.tcia': 1, 'CMB-BRCA_v02_20241217.tcia': 59,
  'CMB-CRC_CT_small.tcia': 1, 'CMB-CRC_CT_triple.tcia': 3, 'CMB-CRC_v07_20240828.tcia': 1554, 'CMB-GEC_v05_20240828.tcia': 124,
  'CMB-LCA_v08_20241217.tcia': 759, 'CMB-MEL_v08_20241217.tcia': 569, 'CMB-PCA_v08_20241217.tcia': 225, 'CMB_MML_v07_20241217.tcia': 455,
  'CPTAC-RareKidney_v13_20240510.tcia': 87, 'CT-Phantom4Radiomicsv1.tcia': 476, 'Colorectal-Liver-Metastases-November-2022-manifest.tcia': 394,
  'EA1141-October-2023-manifest.tcia': 14340, 'Lung-PET-CT-Dx-NBIA-Manifest-122220.tcia': 1295, 'Mediastinal-Lymph-Node-SEG-DA-RAD.tcia': 1026,
  'PDMR-Texture-Analysis.tcia': 1203, 'Prostate-Anatomical-Edge-Cases-May-2023-manifest.tcia': 262,
  'Prostate-MRI-US-Biopsy-NBIA-manifest_v2_20231020.tcia': 4819, 'RIDER-Lung-CT_v3_20240625.tcia': 936, 'ReMIND-Manifest-Sept-2023.tcia': 1346,
  'Spine-Mets-CT-SEG_v1_2024.tcia': 110, 'TCIA-CPTAC-CCRCC_v11_20230818.tcia': 727, 'TCIA-CPTAC-CM_v11_20240429.tcia': 186,
  'TCIA-CPTAC-LSCC_v15.tcia': 233, 'TCIA-CPTAC-LUAD_v12_20230224.tcia': 242, 'TCIA-CPTAC-PDA_v14_20230818.tcia': 1120,
  'TCIA-CPTAC-SAR_v9_20230224.tcia': 1375, 'TCIA-CPTAC-UCEC_v12_20240405.tcia': 2576, 'TCIA_CT_Lymph_Nodes_03-31-2023.tcia': 352,
  'TCIA_LIDC-IDRI_20200921.tcia': 1308, 'TCIA_RIDER_NEURO_MRI_06-22-2015.tcia': 368, 'UPENN-GBM_DownloadManifest20221129.tcia': 3680,
  'VAREPOP-APOLLO-DA-RAD_1224.tcia': 1131, 'Vestibular-Schwannooma-MC-RC-manifest-August-2023.tcia': 354, 'doiJNLP-J4OtCtbF.tcia': 2224,
  'doiJNLP-TCGA-LUAD-01-30-2017.tcia': 624, 'doiJNLP-auLIj9wT-Prostate_Fused-MRI-Pathologyv1.tcia': 324, 'test_series.tcia': 1,
};

const HEADER = 'downloadServerUrl=https://nbia.cancerimagingarchive.net/nbia-download/servlet/DownloadServlet\nincludeAnnotation=true\nnoOfrRetry=4\ndatabasketId=manifest-1.tcia\nmanifestVersion=3.0\n';
const A = '1.3.6.1.4.1.14519.5.2.1.1.24683744861288402229232136260839169890';
const B = '1.3.6.1.4.1.14519.5.2.1.1.13484708142339111895018689151517583958';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'xtd-manifest-'));
});

/** The one line a user sees: the problem and its fix. */
async function refusal(path: string): Promise<string> {
  const error = await readManifest(path).then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(ManifestError);
  return describeError(error);
}

async function manifestFile(name: string, content: string | Buffer): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

describe('the 44 real TCIA manifests', () => {
  it('are all shipped and each parses to its known series count', async () => {
    const names = (await readdir(RESOURCES)).filter((n) => n.endsWith('.tcia')).sort();
    expect(names).toEqual(Object.keys(EXPECTED).sort());
    for (const name of names) {
      const manifest = await readManifest(join(RESOURCES, name));
      expect([name, manifest.seriesUids.length]).toEqual([name, EXPECTED[name]]);
      expect(manifest.format).toBe('tcia');
      expect(manifest.header.noOfrRetry).toBe('4');
    }
  });

  it('strips the CR of CRLF manifests', async () => {
    const manifest = await readManifest(join(RESOURCES, 'BSC-DBT-Validation-manifest.tcia'));
    expect(manifest.seriesUids.every((uid) => /^[0-9.]+$/.test(uid))).toBe(true);
    expect(manifest.header.downloadServerUrl).toMatch(/^https:\/\/public\./);
  });
});

describe('.tcia quirks', () => {
  it('tolerates a BOM, CRLF, blank lines, a Series ID line and duplicates (with a warning)', async () => {
    const text = `\uFEFF${HEADER.replace(/\n/g, '\r\n')}ListOfSeriesToDownload=\r\nSeries ID\r\n\r\n${A}\r\n  ${B}  \r\n${A}\r\n`;
    const manifest = await readManifest(await manifestFile('quirks.tcia', text));
    expect(manifest.seriesUids).toEqual([A, B]);
    expect(manifest.warnings.join(' ')).toMatch(/1 duplicate/);
    expect(manifest.header.databasketId).toBe('manifest-1.tcia');
  });

  it('finds the marker case-insensitively and reads Properties-style headers', () => {
    const parsed = parseTcia(`# comment\ndownloadServerUrl: https://x\nlistofseriestodownload=\n${A}`);
    expect(parsed.uids).toEqual([A]);
    expect(parsed.header.downloadServerUrl).toBe('https://x');
  });

  it.each([
    ['empty.tcia', '', /is empty/],
    ['nomarker.tcia', HEADER, /no ListOfSeriesToDownload= line/],
    ['nouids.tcia', `${HEADER}ListOfSeriesToDownload=\n`, /lists no series/],
    ['notuid.tcia', `${HEADER}ListOfSeriesToDownload=\n${A}\nhello world\n`, /line 8: 'hello world' is not a SeriesInstanceUID/],
    ['toolong.tcia', `${HEADER}ListOfSeriesToDownload=\n1.${'2'.repeat(70)}\n`, /is not a SeriesInstanceUID/],
    ['what.txt', 'just some words\n', /cannot tell what kind of manifest/],
  ])('%s is refused with a clear error', async (name, content, message) => {
    expect(await refusal(await manifestFile(name, content))).toMatch(message);
  });

  it('reads a CSV a spreadsheet saved again: Windows-1252, or UTF-16 with a byte-order mark', async () => {
    const text = `PatientID,SeriesDescription,SeriesInstanceUID\r\nP1,T1 \u00b5 caf\u00e9,${A}\r\nP2,\u00b0,${B}\r\n`;
    const cp1252 = await readManifest(await manifestFile('excel.csv', Buffer.from(text, 'latin1')));
    expect(cp1252.seriesUids).toEqual([A, B]);
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    expect((await readManifest(await manifestFile('unicode.csv', utf16))).seriesUids).toEqual([A, B]);
    // "Unicode text" as a spreadsheet saves it: UTF-16 with a byte-order mark, cells separated by tabs.
    const tabbed = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text.replace(/,/g, '\t'), 'utf16le')]);
    for (const name of ['unicode.txt', 'unicode.csv']) expect((await readManifest(await manifestFile(name, tabbed))).seriesUids).toEqual([A, B]);
    const utf16be = Buffer.from(Buffer.from(`\ufeff${text}`, 'utf16le')).swap16();
    expect((await readManifest(await manifestFile('unicode-be.csv', utf16be))).seriesUids).toEqual([A, B]);
    // Saved as CSV where the decimal mark is a comma: semicolons between the cells, commas inside them.
    const semicolons = `PatientID;SeriesDescription;SeriesInstanceUID\r\nP1;"T1, 3,5 mm";${A}\r\nP2;x;${B}\r\n`;
    expect((await readManifest(await manifestFile('excel-de.csv', Buffer.from(semicolons, 'latin1')))).seriesUids).toEqual([A, B]);
    // Without a byte-order mark, UTF-16 holds NUL bytes: binary, as before.
    expect(await refusal(await manifestFile('nobom.csv', Buffer.from(text, 'utf16le')))).toMatch(/binary file, not text/);
  });

  it('refuses a binary file and recognises a zip', async () => {
    const zip = await manifestFile('m.tcia', Buffer.from([0x50, 0x4b, 3, 4, 0, 0, 0xff, 0xfe]));
    expect(await refusal(zip)).toMatch(/binary file.*unzip it first/);
    expect(await refusal(join(dir, 'nope.tcia'))).toMatch(/no such file/);
  });
});

describe('CSV manifests', () => {
  it.each([
    ['SeriesInstanceUID', `SeriesInstanceUID,Other\n${A},x\n${B},y\n`],
    ['Series Instance UID quoted', `"Collection","Series Instance UID"\n"C","${A}"\n"C","${B}"\n`],
    ['Series UID lower case', `patient,series uid\np,${A}\np,${B}\n`],
    ['Series ID (NBIA portal export)', `"Subject ID","Study UID","Series ID","Number of images"\n"p","1.2","${A}","3"\n"p","1.2","${B}","4"\n`],
    ['series_instance_uid (underscores)', `study_instance_uid,series_instance_uid\nna,${A}\nna,${B}\n`],
    ['CRLF and BOM', `\uFEFFSeriesInstanceUID\r\n${A}\r\n${B}\r\n\r\n`],
  ])('finds the UID column: %s', async (_title, content) => {
    const manifest = await readManifest(await manifestFile('m.csv', content));
    expect(manifest.format).toBe('csv');
    expect(manifest.seriesUids).toEqual([A, B]);
  });

  it('reads the tool\'s own -sessions.csv back as a manifest', async () => {
    const content = `SeriesInstanceUID,StudyInstanceUID,PatientID,subject,session,status\n${A},1.2,P1,P1,P1,imported\n`;
    expect((await readManifest(await manifestFile('x-sessions.csv', content))).seriesUids).toEqual([A]);
  });

  it('names the expected columns when there is no UID column', async () => {
    expect(await refusal(await manifestFile('bad.csv', 'PatientID,StudyUID\np,1.2\n'))).toMatch(/no series UID column \(found: PatientID, StudyUID\).*SeriesInstanceUID, Series Instance UID, Series UID or Series ID/);
  });

  it('reports the row of a value that is not a UID', async () => {
    expect(await refusal(await manifestFile('bad2.csv', `SeriesInstanceUID\n${A}\nnot-a-uid\n`))).toMatch(/row 3: 'not-a-uid'/);
  });
});
