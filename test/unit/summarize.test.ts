import { countTotals, reportRows, type RunOutcomes } from '../../src/finalize/summarize.js';
import type { SeriesOutcome } from '../../src/finalize/report.js';
import { buildPlan } from '../../src/plan/build-plan.js';
import type { SeriesMetadata } from '../../src/tcia/series-metadata.js';
import { observeStudies, type StudyEvents } from '../../src/study/events.js';

const meta = (seriesUid: string, over: Partial<SeriesMetadata> = {}): SeriesMetadata => ({
  seriesUid, studyUid: '1.9', patientId: 'P-1', studyDate: '2001-01-01', modality: 'CT', seriesNumber: seriesUid.slice(-1),
  seriesDescription: '', imageCount: 3, fileSize: 300, collection: 'C', license: 'CC BY 4.0', licenseUri: '', dataDescriptionUri: '', ...over,
});

describe('reportRows', () => {
  // Series 1 is new, 2 is already archived complete, 3 is new but its job never reached it, 4 is unknown at TCIA.
  const metadata = new Map([['1.1', meta('1.1', { patientName: 'DOE^J' })], ['1.2', meta('1.2', { patientName: 'DOE^J' })], ['1.3', meta('1.3', { patientName: 'DOE^J' })]]);
  const holdings = {
    sessions: [{ id: 'E1', label: 'P-1', subject: 'DOE_J', studyUid: '1.9' }],
    labels: [],
    scans: new Map([['E1', [{ id: '2', seriesUid: '1.2', fileCount: 3 }]]]),
  };
  const plan = buildPlan(['1.1', '1.2', '1.3', '1.4'], metadata, holdings);
  const imported: SeriesOutcome = { status: 'imported', files: 3, bytes: 290, md5Verified: 3, attempts: 2, error: '' };
  const run: RunOutcomes = { dryRun: false, sent: new Map([['1.1', imported]]), notStarted: () => 'run stopped before this series started' };
  const where = { host: 'http://xnat', project: 'PRJ' };

  it('gives every manifest series one row, in manifest order, from its job or from the plan', () => {
    const rows = reportRows(plan, run, where);
    expect(rows.map((r) => [r.seriesUid, r.status, r.files, r.error])).toEqual([
      ['1.1', 'imported', 3, ''],
      ['1.2', 'already-in-xnat', 3, ''],
      ['1.3', 'not-started', 0, 'run stopped before this series started'],
      ['1.4', 'unknown-at-tcia', 0, 'TCIA has no public series with this UID'],
    ]);
    expect(rows[0]!.sessionUrl).toBe('http://xnat/data/projects/PRJ/subjects/DOE_J/experiments/P-1');
    expect(rows[2]!.sessionUrl).toBe('');
    const totals = countTotals(rows, 2);
    expect(totals).toMatchObject({ series: 4, imported: 1, alreadyInXnat: 1, notStarted: 1, unknown: 1, failed: 0, files: 3, bytes: 290, seconds: 2 });
  });

  it('in a dry run, plans what would be sent and links no session', () => {
    const rows = reportRows(plan, { ...run, dryRun: true }, where);
    expect(rows.map((r) => [r.status, r.bytes, r.files, r.sessionUrl, r.error])).toEqual([
      ['planned', 300, 0, '', ''], ['already-in-xnat', 0, 0, '', ''], ['planned', 300, 0, '', ''], ['unknown-at-tcia', 0, 0, '', ''],
    ]);
  });

  it('names the subject in the plan even without a PatientName (v1 metadata whose header was not read): the PatientID', () => {
    const v1 = buildPlan(['1.1'], new Map([['1.1', meta('1.1')]]), { sessions: [], labels: [], scans: new Map() });
    expect(v1.studies[0]!.subject).toBe('P-1');
    const rows = reportRows(v1, { ...run, sent: new Map([['1.1', imported]]) }, where);
    expect(rows[0]!.subject).toBe('P-1');
    expect(rows[0]!.sessionUrl).toBe('http://xnat/data/projects/PRJ/subjects/P-1/experiments/P-1');
  });
});

describe('observeStudies', () => {
  it('hands each event to every observer that listens to it', () => {
    const seen: string[] = [];
    const events: StudyEvents = observeStudies(
      { seriesProgressed: ({ bytes }) => seen.push(`a${bytes}`) },
      { seriesProgressed: ({ bytes }) => seen.push(`b${bytes}`), seriesStarted: () => seen.push('b-start') },
    );
    const event = { study: {} as never, series: {} as never };
    events.seriesStarted(event);
    events.seriesProgressed({ ...event, bytes: 7 });
    events.seriesSent({ ...event, subject: 'S', sent: {} as never });
    expect(seen).toEqual(['b-start', 'a7', 'b7']);
  });
});
