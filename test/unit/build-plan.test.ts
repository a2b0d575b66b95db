import { buildPlan, type XnatHoldings } from '../../src/plan/build-plan.js';
import { checkArchivedSeries } from '../../src/finalize/commit-study.js';
import type { SeriesMetadata } from '../../src/tcia/series-metadata.js';

function meta(seriesUid: string, studyUid: string, fields: Partial<SeriesMetadata> = {}): SeriesMetadata {
  return {
    seriesUid, studyUid, patientId: 'PAT-1', patientName: 'DOE^JANE', studyDate: '2001-01-01', modality: 'CT', seriesNumber: '1',
    seriesDescription: '', imageCount: 10, fileSize: 1000, collection: 'C', license: '', licenseUri: '', dataDescriptionUri: '',
    ...fields,
  };
}
const byUid = (...list: SeriesMetadata[]): Map<string, SeriesMetadata> => new Map(list.map((m) => [m.seriesUid, m]));
const NOTHING: XnatHoldings = { sessions: [], labels: [], scans: new Map() };

describe('buildPlan', () => {
  it('labels subjects from PatientName and sessions from PatientID, suffixed by StudyDate then UID', () => {
    const metadata = byUid(
      meta('1.1.1', '1.9', { studyDate: '2003-05-05' }),
      meta('1.2.1', '1.5', { studyDate: '2001-01-01' }),
      meta('1.3.1', '1.4', { studyDate: '2001-01-01' }),
      meta('2.1.1', '2.1', { patientId: 'PAT 2', patientName: '' }),
    );
    const plan = buildPlan([...metadata.keys()], metadata, NOTHING);
    const labels = Object.fromEntries(plan.series.map((s) => [s.uid, [s.subject, s.session, s.action]]));
    expect(labels).toEqual({
      '1.3.1': ['DOE_JANE', 'PAT-1', 'import'],
      '1.2.1': ['DOE_JANE', 'PAT-1_01', 'import'],
      '1.1.1': ['DOE_JANE', 'PAT-1_02', 'import'],
      '2.1.1': ['PAT_2', 'PAT_2', 'import'],
    });
    expect(plan.totals).toEqual({ series: 4, toMove: 4, skip: 0, unknown: 0, blocked: 0, images: 40, bytes: 4000 });
  });

  it('keeps the label and subject of a study XNAT already holds, skips complete scans and redoes partial ones', () => {
    const metadata = byUid(
      meta('1.1.1', '1.1', { seriesNumber: '3' }),
      meta('1.1.2', '1.1', { seriesNumber: '2' }),
      meta('1.1.3', '1.1', { seriesNumber: '1' }),
      meta('1.2.1', '1.2', { studyDate: '1999-01-01' }),
    );
    const holdings: XnatHoldings = {
      sessions: [{ id: 'XNAT_E1', label: 'PAT-1_07', studyUid: '1.1', subject: 'OLD_SUBJECT' }],
      labels: [],
      scans: new Map([['XNAT_E1', [{ id: '3', seriesUid: '1.1.1', fileCount: 10 }, { id: '2', seriesUid: '1.1.2', fileCount: 4 }]]]),
    };
    const plan = buildPlan(['1.1.1', '1.1.2', '1.1.3', '1.2.1', '9.9'], metadata, holdings);
    const actions = Object.fromEntries(plan.series.map((s) => [s.uid, s.action]));
    expect(actions).toEqual({ '1.1.1': 'skip', '1.1.2': 'redo', '1.1.3': 'import', '1.2.1': 'import', '9.9': 'unknown' });
    const held = plan.series.find((s) => s.uid === '1.1.2')!;
    expect(held).toMatchObject({ subject: 'OLD_SUBJECT', session: 'PAT-1_07', sessionId: 'XNAT_E1', existingScan: { id: '2', fileCount: 4 } });
    // The earlier study gets the bare PatientID; the label XNAT holds is never handed out again.
    expect(plan.series.find((s) => s.uid === '1.2.1')!.session).toBe('PAT-1');
    const study = plan.studies.find((s) => s.studyUid === '1.1')!;
    expect(study.series.map((s) => s.uid)).toEqual(['1.1.3', '1.1.2']);
    expect(plan.totals).toMatchObject({ series: 5, toMove: 3, skip: 1, unknown: 1 });
  });

  it('never hands out the label of a non-image experiment, which only the full label listing shows', () => {
    const metadata = byUid(meta('1.1.1', '1.1'));
    const plan = buildPlan(['1.1.1'], metadata, { sessions: [], labels: ['PAT-1'], scans: new Map() });
    expect(plan.series[0]!.session).toBe('PAT-1_01');
  });

  it('treats an empty scan as partial even when TCIA lists no images', () => {
    const metadata = byUid(meta('1.1.1', '1.1', { imageCount: 0 }));
    const holdings: XnatHoldings = {
      sessions: [{ id: 'XNAT_E1', label: 'PAT-1', studyUid: '1.1', subject: 'S' }],
      labels: [],
      scans: new Map([['XNAT_E1', [{ id: '1', seriesUid: '1.1.1', fileCount: 0 }]]]),
    };
    expect(buildPlan(['1.1.1'], metadata, holdings).series[0]!.action).toBe('redo');
  });

  it('leaves out studies with nothing to move and puts the largest first', () => {
    const metadata = byUid(meta('1.1.1', '1.1', { fileSize: 10 }), meta('1.2.1', '1.2', { fileSize: 500 }), meta('1.3.1', '1.3'));
    const holdings: XnatHoldings = {
      sessions: [{ id: 'E3', label: 'X', studyUid: '1.3', subject: 'S' }],
      labels: [],
      scans: new Map([['E3', [{ id: '1', seriesUid: '1.3.1', fileCount: 10 }]]]),
    };
    expect(buildPlan(['1.1.1', '1.2.1', '1.3.1'], metadata, holdings).studies.map((s) => s.studyUid)).toEqual(['1.2', '1.1']);
  });
});

describe('checkArchivedSeries', () => {
  it('names each series XNAT lacks or holds with another file count, and nothing else', () => {
    const problems = checkArchivedSeries(
      [{ uid: 'a', imageCount: 3 }, { uid: 'b', imageCount: 3 }, { uid: 'c', imageCount: 3 }, { uid: 'd', imageCount: 0 }],
      [{ id: '1', seriesUid: 'a', fileCount: 3 }, { id: '2', seriesUid: 'b', fileCount: 2 }, { id: '4', seriesUid: 'd', fileCount: 7 }],
    );
    expect(Object.fromEntries(problems)).toEqual({
      b: 'XNAT scan 2 holds 2 files, TCIA lists 3',
      c: 'XNAT has no scan for this series after the commit',
    });
  });

  it('is empty when every series is archived complete', () => {
    expect(checkArchivedSeries([{ uid: 'a', imageCount: 2 }], [{ id: '1', seriesUid: 'a', fileCount: 2 }]).size).toBe(0);
  });
});
