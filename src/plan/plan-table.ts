import type { Plan } from './build-plan.js';

const ACTION_TEXT = { import: 'import', redo: 're-import', skip: 'in XNAT', unknown: 'unknown at TCIA' } as const;

/** The --dry-run table: every series with where it would go. */
export function formatPlanTable(plan: Plan): string {
  const rows = plan.series.map((s) => [
    s.uid,
    s.meta?.patientId ?? '',
    s.subject ?? (s.meta ? '(from DICOM)' : ''),
    s.session ?? '',
    s.meta?.modality ?? '',
    s.meta ? String(s.meta.imageCount) : '',
    s.meta ? formatMB(s.meta.fileSize) : '',
    ACTION_TEXT[s.action],
  ]);
  const head = ['SeriesInstanceUID', 'PatientID', 'Subject', 'Session', 'Mod', 'Images', 'MB', 'Action'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 5 || i === 6 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  const t = plan.totals;
  return [
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
    `${t.series} series: ${t.toMove} to import (${t.images} images, ${formatMB(t.bytes)} MB), ${t.skip} already in XNAT, ${t.unknown} unknown at TCIA; ${plan.studies.length} session(s) to write`,
  ].join('\n');
}

export function formatMB(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}
