import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeToString } from 'fast-csv';

export type SeriesStatus = 'imported' | 'already-in-xnat' | 'failed' | 'unknown-at-tcia' | 'planned' | 'not-started';

export interface SeriesReportRow {
  seriesUid: string;
  studyUid: string;
  patientId: string;
  subject: string;
  session: string;
  modality: string;
  status: SeriesStatus;
  imagesExpected: number;
  files: number;
  bytes: number;
  md5Verified: number;
  attempts: number;
  error: string;
}

export interface RunReport {
  tool: string;
  version: string;
  runId: string;
  startedAt: string;
  finishedAt: string;
  manifest: string;
  project: string;
  xnatHost: string;
  tciaRoot: string;
  dryRun: boolean;
  exitCode: number;
  outcome: string;
  totals: { series: number; imported: number; alreadyInXnat: number; failed: number; unknown: number; files: number; bytes: number; seconds: number; mbPerSecond: number };
  series: SeriesReportRow[];
}

export const REPORT_COLUMNS: (keyof SeriesReportRow)[] = [
  'seriesUid', 'studyUid', 'patientId', 'subject', 'session', 'modality', 'status', 'imagesExpected', 'files', 'bytes', 'md5Verified', 'attempts', 'error',
];

export async function reportCsv(report: RunReport): Promise<string> {
  return writeToString(report.series.map((row) => REPORT_COLUMNS.map((c) => row[c])), { headers: REPORT_COLUMNS as string[], includeEndRowDelimiter: true });
}

/** The series→session map, readable again by this tool as a CSV manifest (its first column is SeriesInstanceUID). */
export async function sessionsCsv(report: RunReport): Promise<string> {
  const headers = ['SeriesInstanceUID', 'StudyInstanceUID', 'PatientID', 'subject', 'session', 'status'];
  const rows = report.series.map((r) => [r.seriesUid, r.studyUid, r.patientId, r.subject, r.session, r.status]);
  return writeToString(rows, { headers, includeEndRowDelimiter: true });
}

/** Writes report.json and report.csv; returns their paths. */
export async function writeReportFiles(dir: string, report: RunReport): Promise<{ json: string; csv: string }> {
  const json = join(dir, 'report.json');
  const csv = join(dir, 'report.csv');
  await writeFile(json, `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(csv, await reportCsv(report));
  return { json, csv };
}
