/**
 * XNAT allows only [A-Za-z0-9_-] in labels ("Identifiers cannot use special characters"); its own DICOM
 * identifier replaces every other character with '_' (docs/reference/xnat-rest.md#labels). Doing the same here means
 * the label we send is the label XNAT stores. Java's pattern replaces a character, not a UTF-16 unit, so a
 * character beyond the Basic Multilingual Plane (a surrogate pair) is one '_' there too.
 */
export function cleanLabel(value: string): string {
  return value.trim().replace(/[^A-Za-z0-9_-]/gu, '_');
}

/** Subject label: the cleaned PatientName, or the cleaned PatientID when the cleaned name has no ASCII letter or digit. */
export function subjectLabel(patientName: string | undefined, patientId: string): string {
  const name = cleanLabel(patientName ?? '');
  return /[A-Za-z0-9]/.test(name) ? name : cleanLabel(patientId) || 'UNKNOWN';
}

export interface StudyKey {
  studyUid: string;
  patientId: string;
  /** ISO date (YYYY-MM-DD) or '' when unknown. */
  studyDate: string;
}

/** Label candidates for a patient, in order: PID, PID_01, PID_02, … */
export function* labelCandidates(patientId: string): Generator<string> {
  const base = cleanLabel(patientId) || 'UNKNOWN';
  yield base;
  for (let n = 1; ; n += 1) yield `${base}_${String(n).padStart(2, '0')}`;
}

/**
 * Gives every study a session label. A study XNAT already holds keeps its label. New studies of a patient
 * take the first free label in PID, PID_01, … order, visiting them by StudyDate then StudyInstanceUID so that
 * the result does not depend on manifest order. A label in use by any other session in the project is never
 * reused: same label with another StudyInstanceUID is a merge conflict in XNAT (docs/reference/xnat-rest.md#archive-conflicts).
 * Patients are visited in PatientID order, and each patient's first new study takes its plain PID before any
 * patient takes a suffixed one: a patient whose ID is another's PID_01 keeps it, whatever the manifest's order.
 */
export function assignSessionLabels(
  studies: Iterable<StudyKey>,
  existingByStudyUid: ReadonlyMap<string, string>,
  labelsInProject: ReadonlySet<string>,
): Map<string, string> {
  const byPatient = new Map<string, StudyKey[]>();
  for (const study of studies) {
    const list = byPatient.get(study.patientId) ?? [];
    list.push(study);
    byPatient.set(study.patientId, list);
  }
  const taken = new Set(labelsInProject);
  const result = new Map<string, string>();
  const fresh = new Map<string, StudyKey[]>();
  const patients = [...byPatient.keys()].sort();
  for (const patientId of patients) {
    const waiting: StudyKey[] = [];
    for (const study of [...byPatient.get(patientId)!].sort(compareStudies)) {
      const existing = existingByStudyUid.get(study.studyUid);
      if (existing !== undefined) {
        result.set(study.studyUid, existing);
        taken.add(existing);
      } else {
        waiting.push(study);
      }
    }
    fresh.set(patientId, waiting);
  }
  const give = (study: StudyKey, label: string): void => {
    taken.add(label);
    result.set(study.studyUid, label);
  };
  for (const patientId of patients) {
    const first = fresh.get(patientId)![0];
    const base = labelCandidates(patientId).next().value as string;
    if (first && !taken.has(base)) give(first, base);
  }
  for (const patientId of patients) {
    const candidates = labelCandidates(patientId);
    for (const study of fresh.get(patientId)!.filter((s) => !result.has(s.studyUid))) {
      let label = candidates.next().value as string;
      while (taken.has(label)) label = candidates.next().value as string;
      give(study, label);
    }
  }
  return result;
}

function compareStudies(a: StudyKey, b: StudyKey): number {
  // Unknown dates sort last so that dated studies get the low suffixes.
  const da = a.studyDate || '9999-99-99';
  const db = b.studyDate || '9999-99-99';
  if (da !== db) return da < db ? -1 : 1;
  return a.studyUid < b.studyUid ? -1 : a.studyUid > b.studyUid ? 1 : 0;
}

/**
 * Subject labels the plan tells apart that XNAT will not: its archiver matches a subject label in the project ignoring
 * case, so `doe_john` and `DOE_JOHN` end in one subject, the one it meets or holds first
 * (docs/reference/xnat-rest.md#labels). One message per clash, from the run's subjects and those the project's
 * sessions are under.
 */
export function subjectCaseClashes(planned: Iterable<{ subject?: string; meta?: { patientId: string } }>, held: Iterable<{ subject: string }>): string[] {
  const byKey = new Map<string, { labels: Set<string>; patients: Set<string> }>();
  const note = (label: string, patientId?: string): void => {
    const entry = byKey.get(label.toLowerCase()) ?? { labels: new Set(), patients: new Set() };
    entry.labels.add(label);
    if (patientId !== undefined) entry.patients.add(patientId);
    byKey.set(label.toLowerCase(), entry);
  };
  for (const row of held) if (row.subject) note(row.subject);
  for (const s of planned) if (s.subject && s.meta) note(s.subject, s.meta.patientId);
  return [...byKey.values()].filter((e) => e.labels.size > 1 && e.patients.size > 0).map((e) =>
    `subject labels ${[...e.labels].sort().join(', ')} differ only in case (PatientID ${[...e.patients].sort().join(', ')}): `
    + 'XNAT matches subject labels ignoring case and files these sessions under one subject; the report names the one XNAT used');
}
