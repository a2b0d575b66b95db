/**
 * Every kind of valid DICOM file XNAT archives goes through, end to end: the NBIA emulator serves folders of
 * files written by dcmtk (test/support/dcmtk-corpus.ts) as series, the CLI is spawned, and the XNAT emulator must
 * end up holding each file byte for byte. One import per emulator pair; one test per case.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildDcmtkCorpus, missingDcmtkTools, type CorpusCase } from '../support/dcmtk-corpus.js';
import { tempDir, writeTciaManifest, type CliResult } from '../support/run-cli.js';
import { FAST, startWorld, type World } from '../support/world.js';

const missing = missingDcmtkTools();
// CI installs dcmtk (.ci/run); there a missing tool is a broken setup, not a reason to skip.
if (missing.length > 0 && process.env.CI === 'true') throw new Error(`dcmtk tools missing on CI: ${missing.join(', ')} (apt-get install dcmtk)`);
const describeWithDcmtk = missing.length > 0 ? describe.skip : describe;
if (missing.length > 0) process.stderr.write(`conformance tests skipped: dcmtk tools missing (${missing.join(', ')})\n`);

let corpus: CorpusCase[] = [];

/**
 * XNAT's label rule (docs/reference/dicom.md#patientname): every character outside [A-Za-z0-9_-] becomes '_'.
 * A name left without a letter or digit gives way to the PatientID, as README "Labels" says.
 */
function subjectLabel(c: CorpusCase): string {
  const label = c.patientName!.trim().replace(/[^A-Za-z0-9_-]/gu, '_');
  return /[A-Za-z0-9]/.test(label) ? label : c.patientId;
}

async function importCases(world: World, cases: CorpusCase[], project: string): Promise<CliResult> {
  const manifest = await writeTciaManifest(world.out, `${project}.tcia`, cases.map((c) => c.seriesUid));
  return world.run(['import', manifest, '--project', project, '--output-dir', world.out, ...FAST], { timeoutMs: 240_000 });
}

function expectByteIdentical(world: World, project: string, c: CorpusCase): void {
  const scans = world.xnat.archive(project).flatMap((s) => s.scans.map((scan) => ({ session: s, scan })));
  const found = scans.filter((s) => s.scan.seriesInstanceUid === c.seriesUid);
  expect(found).toHaveLength(1);
  const served = readdirSync(c.dir).map((f) => readFileSync(join(c.dir, f)).toString('base64')).sort();
  expect(found[0]!.scan.files.map((f) => f.bytes.toString('base64')).sort()).toEqual(served);
}

describeWithDcmtk('conformance: files written by dcmtk, end to end', () => {
  beforeAll(async () => {
    corpus = buildDcmtkCorpus(await tempDir('xtd-dcmtk-'));
  }, 120_000);

  describe('structure: transfer syntaxes, encapsulation, odd meta, sequences, private tags, big headers, no pixels', () => {
    let world: World;
    let result: CliResult;
    const cases = (): CorpusCase[] => corpus.filter((c) => !c.patientName);

    beforeAll(async () => {
      world = await startWorld({ nbia: { collection: [], directories: cases().map(({ dir, seriesUid, studyUid, patientId }) => ({ dir, seriesUid, studyUid, patientId })) } });
      result = await importCases(world, cases(), 'CONFORM');
    }, 240_000);
    afterAll(async () => world?.close());

    it('ends with exit 0 and nothing but our own lines', () => {
      expect(result.stderr).toBe('');
      expect(result.exitCode).toBe(0);
      expect(world.xnat.prearchive('CONFORM')).toEqual([]);
    });

    it.each([
      'explicit-vr-little-endian', 'implicit-vr-little-endian', 'explicit-vr-big-endian', 'deflated-explicit-vr-little-endian',
      'jpeg-baseline', 'jpeg-lossless', 'jpeg-ls', 'rle', 'jpeg-2000', 'htj2k', 'bare-dataset-implicit', 'bare-dataset-explicit',
      'meta-group-length-missing', 'meta-without-transfer-syntax', 'meta-group-length-wrong', 'undefined-length-sequences', 'private-un', 'implicit-private-un',
      'header-over-64k', 'multi-frame', 'rtstruct', 'rtplan', 'sr', 'ko', 'pr', 'seg',
    ])('%s is archived byte for byte', (name) => {
      const c = cases().find((k) => k.name === name);
      expect(c).toBeDefined();
      expectByteIdentical(world, 'CONFORM', c!);
    });
  });

  describe('character sets: the subject label comes from the header (NBIA v1 metadata has no PatientName)', () => {
    let world: World;
    let result: CliResult;
    const cases = (): CorpusCase[] => corpus.filter((c) => c.patientName);

    beforeAll(async () => {
      world = await startWorld({ nbia: { v4: false, collection: [], directories: cases().map(({ dir, seriesUid, studyUid, patientId }) => ({ dir, seriesUid, studyUid, patientId })) } });
      result = await importCases(world, cases(), 'CHARSETS');
    }, 240_000);
    afterAll(async () => world?.close());

    it('ends with exit 0 and nothing but our own lines', () => {
      expect(result.stderr).toBe('');
      expect(result.exitCode).toBe(0);
    });

    it.each([
      'charset-iso-2022-ir-87', 'charset-iso-2022-ir-13-iso-2022-ir-87', 'charset-iso-2022-ir-159', 'charset-iso-2022-ir-149',
      'charset-iso-2022-ir-58', 'charset-iso-ir-192', 'charset-gb18030', 'charset-gbk', 'charset-iso-ir-100', 'charset-iso-ir-101',
      'charset-iso-ir-144', 'charset-iso-ir-126', 'charset-iso-ir-127', 'charset-iso-ir-138', 'charset-iso-ir-148',
      'charset-iso-ir-166', 'charset-iso-ir-203',
    ])('%s is archived byte for byte under the subject XNAT would name', (name) => {
      const c = cases().find((k) => k.name === name);
      expect(c).toBeDefined();
      expectByteIdentical(world, 'CHARSETS', c!);
      const session = world.xnat.archive('CHARSETS').find((s) => s.studyInstanceUid === c!.studyUid);
      // Every `=` group of the name counts, as in XNAT's PatientName extractor.
      expect(session?.subject).toBe(subjectLabel(c!));
    });
  });
});
