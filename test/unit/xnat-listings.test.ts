import { listSessions } from '../../src/xnat/archive.js';
import type { XnatSession } from '../../src/xnat/session.js';

/** An XNAT session whose every GET answers this ResultSet. */
function answering(rows: Record<string, string>[]): XnatSession {
  const request = async (): Promise<{ statusCode: number; body: string }> => ({ statusCode: 200, body: JSON.stringify({ ResultSet: { Result: rows } }) });
  return { request } as unknown as XnatSession;
}

describe('listSessions', () => {
  it('reads ID, label and StudyInstanceUID under each name XNAT may give their columns (docs/reference/xnat-rest.md#experiments)', async () => {
    const rows: Record<string, string>[] = [
      { ID: 'E1', label: 'P1', subject_label: 'S1', UID: '1.2.1' },
      { session_ID: 'E2', session_label: 'P2', subject_label: 'S2', 'xnat:imagesessiondata/uid': '1.2.2' },
      { 'xnat:subjectassessordata/id': 'E3', 'xnat:subjectdata/label': 'S3', 'xnat:imagesessiondata/label': 'P3', studyInstanceUID: '1.2.3' },
    ];
    expect(await listSessions(answering(rows), 'P')).toEqual([
      { id: 'E1', label: 'P1', studyUid: '1.2.1', subject: 'S1' },
      { id: 'E2', label: 'P2', studyUid: '1.2.2', subject: 'S2' },
      { id: 'E3', label: 'P3', studyUid: '1.2.3', subject: '' },
    ]);
  });
});
