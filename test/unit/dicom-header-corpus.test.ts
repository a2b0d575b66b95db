/**
 * readDicomHeader on files written by dcmtk (test/support/dcmtk-corpus.ts), not by this project: every case of the
 * conformance corpus, and the layouts dcm4che reads that a parser trusting the File Meta group would not (a
 * Transfer Syntax padded with a space, 'DICM' with no meta group, a meta group with no preamble, a multi-valued
 * SeriesInstanceUID, a UN sequence of undefined length in big endian). Each file must yield the UIDs and PatientID
 * it was written with, whole and from its first 64 kB alone (all a streamed file's check sees first).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readDicomHeader } from '../../src/transfer/dicom-header.js';
import { buildDcmtkCorpus, buildDcmtkLayouts, missingDcmtkTools, type CorpusCase } from '../support/dcmtk-corpus.js';
import { tempDir } from '../support/run-cli.js';

const missing = missingDcmtkTools();
// CI installs dcmtk (.ci/run); there a missing tool is a broken setup, not a reason to skip.
if (missing.length > 0 && process.env.CI === 'true') throw new Error(`dcmtk tools missing on CI: ${missing.join(', ')} (apt-get install dcmtk)`);
const describeWithDcmtk = missing.length > 0 ? describe.skip : describe;

let corpus: CorpusCase[] = [];
let layouts: CorpusCase[] = [];

function files(c: CorpusCase): Buffer[] {
  return readdirSync(c.dir).sort().map((name) => readFileSync(join(c.dir, name)));
}

function expectHeader(c: CorpusCase, bytes: Buffer): void {
  expect(readDicomHeader(bytes)).toMatchObject({ seriesUid: c.seriesUid, studyUid: c.studyUid, patientId: c.patientId, studyDate: '20200102' });
}

describeWithDcmtk('readDicomHeader on files dcmtk wrote', () => {
  beforeAll(async () => {
    const root = await tempDir('xtd-dcmtk-headers-');
    corpus = buildDcmtkCorpus(join(root, 'corpus'));
    layouts = buildDcmtkLayouts(join(root, 'layouts'));
  }, 120_000);

  it('reads every case of the conformance corpus', () => {
    expect(corpus.length).toBeGreaterThan(40);
    for (const c of corpus) for (const file of files(c)) expectHeader(c, file);
  });

  it.each([
    'transfer-syntax-space-padded-implicit', 'transfer-syntax-space-padded-big-endian', 'dicm-without-meta-implicit',
    'dicm-without-meta-big-endian', 'meta-without-preamble-implicit', 'meta-without-preamble-big-endian', 'multi-valued-series-uid',
  ])('reads %s, whole and from its first 64 kB', (name) => {
    const c = layouts.find((k) => k.name === name);
    expect(c).toBeDefined();
    for (const file of files(c!)) {
      expectHeader(c!, file);
      expectHeader(c!, file.subarray(0, 64 * 1024));
    }
  });

  it('reads a big endian file with a UN sequence of undefined length before group 0020, as dcm4che does (CP-246)', () => {
    const c = layouts.find((k) => k.name === 'un-sequence-big-endian')!;
    files(c).forEach((file, i) => {
      const header = { sopInstanceUid: `${c.seriesUid}.${i + 1}`, seriesUid: c.seriesUid, studyUid: c.studyUid, patientId: c.patientId };
      // Whole, and cut off inside PixelData as the head of a larger file would be.
      for (const bytes of [file, file.subarray(0, file.length - 100)]) {
        expect(readDicomHeader(bytes)).toEqual({ ...header, patientName: 'XTD^UNSEQUENCEBIGENDIAN', studyDate: '20200102' });
      }
    });
  });

  it('reads the PatientName of a file whose Transfer Syntax is padded with a space, as the subject label needs it', () => {
    const c = layouts.find((k) => k.name === 'transfer-syntax-space-padded-implicit')!;
    expect(readDicomHeader(files(c)[0]!)?.patientName).toBe('XTD^TRANSFERSYNTAXSPACEPADDEDIMPLICIT');
  });
});
