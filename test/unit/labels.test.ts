import { assignSessionLabels, cleanLabel, subjectCaseClashes, subjectLabel } from '../../src/plan/labels.js';
import { isoDate } from '../../src/tcia/series-metadata.js';

describe('cleanLabel', () => {
  it('replaces everything outside [A-Za-z0-9_-] with _ as XNAT does', () => {
    expect(cleanLabel('DOE^JOHN')).toBe('DOE_JOHN');
    expect(cleanLabel("O'BRIEN ANN.")).toBe('O_BRIEN_ANN_');
    expect(cleanLabel('MSB-05167')).toBe('MSB-05167');
  });

  it("makes one _ of a character beyond the Basic Multilingual Plane, as XNAT's Java pattern does (it works per code point)", () => {
    expect(cleanLabel('Wang^\u{20000}')).toBe('Wang__');
    expect(cleanLabel('Yoshino^Taro=\u{20BB7}野^太郎')).toBe('Yoshino_Taro______');
  });
});

describe('subjectLabel', () => {
  it('uses the cleaned PatientName, or the PatientID when the name is empty', () => {
    expect(subjectLabel('CRC^0007', 'MSB-1')).toBe('CRC_0007');
    expect(subjectLabel('', 'MSB-1')).toBe('MSB-1');
    expect(subjectLabel('^^', 'MSB-1')).toBe('MSB-1');
    expect(subjectLabel(undefined, 'A B')).toBe('A_B');
  });
});

describe('assignSessionLabels', () => {
  const study = (studyUid: string, patientId: string, studyDate: string) => ({ studyUid, patientId, studyDate });

  it('orders a patient\'s studies by date then UID, whatever the input order', () => {
    const studies = [study('1.3', 'P1', '2003-01-01'), study('1.1', 'P1', '2001-01-01'), study('1.2', 'P1', '2001-01-01'), study('2.1', 'P2', '')];
    const labels = assignSessionLabels(studies, new Map(), new Set());
    expect(Object.fromEntries(labels)).toEqual({ '1.1': 'P1', '1.2': 'P1_01', '1.3': 'P1_02', '2.1': 'P2' });
    const reversed = assignSessionLabels([...studies].reverse(), new Map(), new Set());
    expect(reversed).toEqual(labels);
  });

  it("gives a patient whose ID is another patient's next label that ID, whatever the manifest's order", () => {
    const studies = [study('4.1', 'MSB-4', '2001-01-01'), study('4.2', 'MSB-4', '2002-01-01'), study('5.1', 'MSB-4_01', '2001-01-01'), study('5.2', 'MSB-4_01', '2002-01-01')];
    const expected = { '4.1': 'MSB-4', '4.2': 'MSB-4_02', '5.1': 'MSB-4_01', '5.2': 'MSB-4_01_01' };
    expect(Object.fromEntries(assignSessionLabels(studies, new Map(), new Set()))).toEqual(expected);
    expect(Object.fromEntries(assignSessionLabels([...studies].reverse(), new Map(), new Set()))).toEqual(expected);
    expect(Object.fromEntries(assignSessionLabels([studies[2]!, studies[0]!, studies[3]!, studies[1]!], new Map(), new Set()))).toEqual(expected);
  });

  it('keeps labels XNAT already has and gives a new study the next free suffix', () => {
    const existing = new Map([['1.1', 'P1'], ['1.3', 'P1_01']]);
    const labels = assignSessionLabels([study('1.1', 'P1', '2001-01-01'), study('1.2', 'P1', '2002-01-01'), study('1.3', 'P1', '2003-01-01')], existing, new Set(['P1', 'P1_01']));
    expect(Object.fromEntries(labels)).toEqual({ '1.1': 'P1', '1.3': 'P1_01', '1.2': 'P1_02' });
  });

  it('never reuses a label another session of the project holds', () => {
    const labels = assignSessionLabels([study('9.9', 'P 1', '2001-01-01')], new Map(), new Set(['P_1', 'P_1_01']));
    expect(labels.get('9.9')).toBe('P_1_02');
  });
});

describe('StudyDate as old files write it', () => {
  it('YYYY.MM.DD reads as a date, so labels still follow StudyDate order', () => {
    expect(isoDate('1997.04.24')).toBe('1997-04-24');
    expect(isoDate('20010101')).toBe('2001-01-01');
    expect(isoDate('2001-01-01')).toBe('2001-01-01');
    expect(isoDate('2001.0101')).toBe('');
    const labels = assignSessionLabels(
      [
        { studyUid: '1.2.2', patientId: 'P1', studyDate: isoDate('20010101') },
        { studyUid: '1.2.9', patientId: 'P1', studyDate: isoDate('1997.04.24') },
      ],
      new Map(),
      new Set(),
    );
    expect(Object.fromEntries(labels)).toEqual({ '1.2.9': 'P1', '1.2.2': 'P1_01' });
  });
});

describe('subjectCaseClashes', () => {
  const planned = (subject: string, patientId: string) => ({ subject, meta: { patientId } });
  it('names labels of the run, or of the run and the project, that differ only in case (docs/reference/xnat-rest.md#labels)', () => {
    expect(subjectCaseClashes([planned('doe_john', 'P1'), planned('DOE_JOHN', 'P2'), planned('X', 'P3')], [])).toEqual([
      'subject labels DOE_JOHN, doe_john differ only in case (PatientID P1, P2): XNAT matches subject labels ignoring case and files these sessions under one subject; the report names the one XNAT used',
    ]);
    expect(subjectCaseClashes([planned('Smith', 'P4')], [{ subject: 'SMITH' }])).toHaveLength(1);
    // The same label for two PatientIDs, or a subject of the project the run does not touch, is no clash.
    expect(subjectCaseClashes([planned('A', 'P1'), planned('A', 'P2')], [{ subject: 'b' }, { subject: 'B' }])).toEqual([]);
  });
});
