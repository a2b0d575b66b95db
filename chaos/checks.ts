/** What must hold after the final run, each breach as one readable line. */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SeriesSpec } from '../emulators/dicom/synthetic-series.js';
import type { NbiaEmulator } from '../emulators/nbia/index.js';
import type { XnatEmulator } from '../emulators/xnat/index.js';
import type { ToolRun } from './run-tool.js';

export interface Evidence {
  project: string;
  specs: SeriesSpec[];
  nbia: NbiaEmulator;
  xnat: XnatEmulator;
  runs: ToolRun[];
  outputDir: string;
  secret: string;
}

export async function checkOutcome(e: Evidence): Promise<string[]> {
  const problems: string[] = [];
  const final = e.runs[e.runs.length - 1]!;
  if (final.exitCode !== 0) problems.push(`the final run exited ${final.exitCode}, not 0`);
  const sessions = e.xnat.archive(e.project);

  // Exactly once: one session per study, one scan per series, each file once and byte-identical to what NBIA served.
  const byStudy = new Map<string, number>();
  for (const s of sessions) byStudy.set(s.studyInstanceUid, (byStudy.get(s.studyInstanceUid) ?? 0) + 1);
  for (const [study, n] of byStudy) if (n > 1) problems.push(`study ${study} is archived in ${n} sessions`);
  const scans = sessions.flatMap((s) => s.scans);
  for (const spec of e.specs) {
    const matching = scans.filter((x) => x.seriesInstanceUid === spec.seriesUid);
    if (matching.length !== 1) {
      problems.push(`series ${spec.seriesUid} is in ${matching.length} archived scans`);
      continue;
    }
    const files = matching[0]!.files;
    if (files.length !== spec.imageCount) problems.push(`series ${spec.seriesUid}: scan holds ${files.length} files, NBIA serves ${spec.imageCount}`);
    const served = new Set(Array.from({ length: spec.imageCount }, (_, i) => e.nbia.instance(spec.seriesUid, i).toString('base64')));
    const bad = files.filter((f) => !served.has(f.bytes.toString('base64'))).length;
    if (bad > 0) problems.push(`series ${spec.seriesUid}: ${bad} archived file(s) differ from what NBIA served`);
    if (new Set(files.map((f) => f.sopInstanceUid)).size !== files.length) problems.push(`series ${spec.seriesUid}: an instance is archived twice`);
  }
  const studyOf = new Map(e.specs.map((s) => [s.seriesUid, s.studyUid]));
  for (const s of sessions) {
    if (s.scans.some((x) => studyOf.get(x.seriesInstanceUid) !== s.studyInstanceUid)) problems.push(`session ${s.label} holds a series of another study`);
  }

  // Labels: the subject is the PatientName as XNAT reads it (first value, trailing '^' and spaces dropped), cleaned
  // to [A-Za-z0-9_-], or the PatientID when that leaves nothing (README "Labels"; docs/reference/dicom.md#patientname).
  const specOfStudy = new Map(e.specs.map((s) => [s.studyUid, s]));
  for (const s of sessions) {
    const spec = specOfStudy.get(s.studyInstanceUid);
    const expected = spec && expectedSubject(spec);
    if (spec && s.subject !== expected) problems.push(`session ${s.label} is under subject ${s.subject}, not ${expected} (PatientName ${JSON.stringify(spec.patientName)})`);
  }

  const left = e.xnat.prearchive(e.project);
  if (left.length > 0) problems.push(`the prearchive still holds ${left.map((s) => `${s.name} (${s.status})`).join(', ')}`);

  // No secret anywhere: stdout and stderr of every run, the local report and log, the records in the project.
  e.runs.forEach((run, i) => {
    if (run.stdout.includes(e.secret) || run.stderr.includes(e.secret)) problems.push(`run ${i + 1} printed the password`);
  });
  for (const name of await readdir(e.outputDir, { recursive: true })) {
    const text = await readFile(join(e.outputDir, name)).catch(() => Buffer.alloc(0));
    if (text.includes(e.secret)) problems.push(`${name} in the output folder holds the password`);
  }
  for (const label of ['MANIFEST_ORIGINAL', 'MANIFEST_MODIFIED', 'TCIA_IMPORT_LOGS']) {
    for (const [path, bytes] of e.xnat.projectResource(e.project, label) ?? []) {
      if (bytes.includes(e.secret)) problems.push(`project resource ${label}/${path} holds the password`);
    }
  }
  return problems;
}

function expectedSubject(spec: SeriesSpec): string {
  const clean = (text: string): string => text.trim().replace(/[^A-Za-z0-9_-]/g, '_');
  const name = clean((spec.patientName.split('\\')[0] ?? '').replace(/[\^ ]+$/, ''));
  return /[A-Za-z0-9]/.test(name) ? name : clean(spec.patientId);
}
