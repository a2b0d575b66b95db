import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeToString } from 'fast-csv';
import type { SourceName, SourceSeries } from '../sources/types.js';

export type SeriesStatus = 'imported' | 'already-in-xnat' | 'failed' | 'unknown-at-tcia' | 'planned' | 'not-started';

/**
 * What became of one series this run, the one result type that flows into the report: a study job's outcome for
 * what it sent, or what the plan says of series that were never to be sent (or were not reached).
 */
export interface SeriesOutcome {
  status: SeriesStatus;
  files: number;
  bytes: number;
  md5Verified: number;
  attempts: number;
  error: string;
  /** For a series sent this run: the source that served it, how it was verified, and when (ms since the epoch). */
  source?: SourceName;
  verified?: SourceSeries['verified'];
  startedMs?: number;
  endedMs?: number;
}

/** Imported series, files, bytes and MB/s of one source; seconds is the time that source had series in flight. */
export interface SourceTotals {
  imported: number;
  files: number;
  bytes: number;
  seconds: number;
  mbPerSecond: number;
}

export interface SeriesReportRow {
  seriesUid: string;
  studyUid: string;
  patientId: string;
  subject: string;
  session: string;
  modality: string;
  seriesDescription: string;
  studyDate: string;
  collection: string;
  license: string;
  licenseUri: string;
  /** The session's page in XNAT, once the series is there. */
  sessionUrl: string;
  status: SeriesStatus;
  imagesExpected: number;
  files: number;
  bytes: number;
  md5Verified: number;
  attempts: number;
  error: string;
  /** Doubts about what was imported, e.g. an IDC listing short of the index's series size; '' when none. */
  warning: string;
  /** Where the series came from (a dry run: where it would come from); '' when nothing was or would be sent. */
  source: SourceName | '';
  /** How its files were checked: every file by MD5, or by size plus header (IDC's multipart ETags). */
  verified: SourceSeries['verified'] | '';
  /** How long its successful transfer took. */
  seconds: number;
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
  totals: { series: number; imported: number; alreadyInXnat: number; failed: number; notStarted: number; unknown: number; files: number; bytes: number; seconds: number; mbPerSecond: number; bySource?: Partial<Record<SourceName, SourceTotals>> };
  /** --source, and the IDC index this run read (its ETag pins the release), when it read one. */
  sources?: { mode: string; idcIndex?: { location: string; etag?: string; rows: number; seriesFound: number } };
  /** The licenses the data in XNAT (or, in a dry run, the planned data) carries; TCIA's data-use policy asks users to honour and cite them. */
  licenses: { name: string; uri: string; collections: string[]; series: number }[];
  /** What to cite: each collection's data description (a DOI where NBIA gives one). */
  citations: { collection: string; uri: string; doi?: string }[];
  /** Series of this manifest that TCIA holds annotation files for, which the tool does not import (src/plan/annotations.ts). */
  annotationsNotImported?: number;
  series: SeriesReportRow[];
}

/** Per-row facts the report's license and citation lists are built from. */
export interface SeriesProvenance {
  collection: string;
  license: string;
  licenseUri: string;
  dataDescriptionUri: string;
}

/** Licenses and citations of the given series, each listed once. */
export function licensesAndCitations(series: SeriesProvenance[]): Pick<RunReport, 'licenses' | 'citations'> {
  const licenses = new Map<string, RunReport['licenses'][number]>();
  const citations = new Map<string, RunReport['citations'][number]>();
  for (const s of series) {
    if (s.license || s.licenseUri) {
      const key = `${s.license}\u0000${s.licenseUri}`;
      const entry = licenses.get(key) ?? { name: s.license, uri: s.licenseUri, collections: [], series: 0 };
      entry.series += 1;
      if (s.collection && !entry.collections.includes(s.collection)) entry.collections.push(s.collection);
      licenses.set(key, entry);
    }
    if (s.dataDescriptionUri && !citations.has(`${s.collection}\u0000${s.dataDescriptionUri}`)) {
      const doi = /^(?:https?:\/\/(?:dx\.)?doi\.org\/|doi:)(10\.\S+)$/i.exec(s.dataDescriptionUri.trim())?.[1];
      citations.set(`${s.collection}\u0000${s.dataDescriptionUri}`, { collection: s.collection, uri: s.dataDescriptionUri, ...(doi ? { doi } : {}) });
    }
  }
  return { licenses: [...licenses.values()], citations: [...citations.values()] };
}

export const REPORT_COLUMNS: (keyof SeriesReportRow)[] = [
  'seriesUid', 'studyUid', 'patientId', 'subject', 'session', 'modality', 'seriesDescription', 'studyDate', 'collection', 'license', 'licenseUri',
  'status', 'imagesExpected', 'files', 'bytes', 'md5Verified', 'attempts', 'error', 'warning', 'sessionUrl', 'source', 'verified', 'seconds',
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
