import { writeToString } from 'fast-csv';
import { formatSize } from '../units.js';
import type { Plan, PlannedSeries } from './build-plan.js';

const ACTION_TEXT = { import: 'import', redo: 're-import', skip: 'in XNAT', unknown: 'unknown at TCIA', blocked: "another project's" } as const;

/** --plan-table: every series with where it would go. */
export function formatPlanTable(plan: Plan): string {
  const sources = fromIdc(plan);
  const rows = plan.series.map((s) => [
    s.uid,
    s.meta?.patientId ?? '',
    s.subject ?? '',
    s.session ?? '',
    s.meta?.modality ?? '',
    s.meta ? String(s.meta.imageCount) : '',
    s.meta ? formatSize(s.meta.fileSize) : '',
    ACTION_TEXT[s.action],
    ...(sources ? [moves(s) ? s.source ?? '' : ''] : []),
  ]);
  const head = ['SeriesInstanceUID', 'PatientID', 'Subject', 'Session', 'Mod', 'Images', 'Size', 'Action', ...(sources ? ['Source'] : [])];
  return [...alignColumns(head, rows, [5, 6]), '', planTotals(plan), ...blockedLines(plan)].join('\n');
}

/** The default dry-run output: one line per session, then the totals. A 19,000-series manifest stays readable. */
export function formatPlanSummary(plan: Plan): string {
  const sources = fromIdc(plan);
  const sessions = new Map<string, PlannedSeries[]>();
  for (const s of plan.series) {
    if (!s.session) continue;
    const key = `${s.subject ?? ''}\u0000${s.session}`;
    sessions.set(key, [...(sessions.get(key) ?? []), s]);
  }
  const rows = [...sessions.entries()].map(([key, list]) => {
    const [subject, session] = key.split('\u0000') as [string, string];
    const moving = list.filter(moves);
    return [
      subject,
      session,
      [...new Set(list.map((s) => s.meta?.modality).filter(Boolean))].join(','),
      String(list.length),
      String(moving.length),
      String(moving.reduce((n, s) => n + (s.meta?.imageCount ?? 0), 0)),
      formatSize(moving.reduce((n, s) => n + (s.meta?.fileSize ?? 0), 0)),
      ...(sources ? [[...new Set(moving.map((s) => s.source).filter(Boolean))].join(',')] : []),
    ];
  });
  const head = ['Subject', 'Session', 'Modalities', 'Series', 'To import', 'Images', 'Size', ...(sources ? ['Source'] : [])];
  const lines = rows.length > 0 ? [...alignColumns(head, rows, [3, 4, 5, 6]), ''] : [];
  const unknown = plan.series.filter((s) => s.action === 'unknown').length;
  return [...lines, planTotals(plan), ...(unknown > 0 ? [`${unknown} series unknown at TCIA: listed in plan.csv`] : []), ...blockedLines(plan)].join('\n');
}

/** plan.csv: the full per-series plan, one row per manifest series. */
export async function planCsv(plan: Plan): Promise<string> {
  const headers = ['SeriesInstanceUID', 'StudyInstanceUID', 'PatientID', 'subject', 'session', 'Modality', 'SeriesDescription', 'images', 'bytes', 'action', 'source', 'reason'];
  const rows = plan.series.map((s) => [
    s.uid, s.meta?.studyUid ?? '', s.meta?.patientId ?? '', s.subject ?? '', s.session ?? '', s.meta?.modality ?? '', s.meta?.seriesDescription ?? '',
    s.meta?.imageCount ?? '', s.meta?.fileSize ?? '', s.action, moves(s) ? s.source ?? '' : '', s.reason ?? '',
  ]);
  return writeToString(rows, { headers, includeEndRowDelimiter: true });
}

function planTotals(plan: Plan): string {
  const t = plan.totals;
  const sessions = new Set(plan.series.filter(moves).map((s) => s.session)).size;
  const blocked = t.blocked > 0 ? `, ${t.blocked} in another project's session` : '';
  return `${t.series} series: ${t.toMove} to import (${t.images} images, ${formatSize(t.bytes)}) into ${sessions} session(s), ${t.skip} already in XNAT${blocked}, ${t.unknown} unknown at TCIA${sourceTotals(plan)}`;
}

/** Series in another project's session: counted here; the run's error lines and plan.csv give each one's reason. */
function blockedLines(plan: Plan): string[] {
  const n = plan.totals.blocked;
  return n > 0 ? [`${n} series cannot be imported into another project's session: listed in plan.csv with the reason`] : [];
}

/** The series to import per source, with their size: `; from IDC 30 (1.2 GB), from NBIA 8 (300 MB)`. */
function sourceTotals(plan: Plan): string {
  if (!fromIdc(plan)) return '';
  const moving = plan.series.filter(moves);
  const parts = (['idc', 'nbia'] as const).flatMap((name) => {
    const list = moving.filter((s) => s.source === name);
    return list.length > 0 ? [`from ${name.toUpperCase()} ${list.length} (${formatSize(list.reduce((n, s) => n + (s.meta?.fileSize ?? 0), 0))})`] : [];
  });
  return parts.length > 0 ? `; ${parts.join(', ')}` : '';
}

/** Sources are shown once IDC serves something; an NBIA-only plan reads as it always did. */
function fromIdc(plan: Plan): boolean {
  return plan.series.some((s) => moves(s) && s.source === 'idc');
}

function moves(s: PlannedSeries): boolean {
  return s.action === 'import' || s.action === 'redo';
}

/** Left-aligned columns, numbers (by index) right-aligned, with a rule under the head. */
function alignColumns(head: string[], rows: string[][], numeric: number[]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (numeric.includes(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

export function formatMB(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}
