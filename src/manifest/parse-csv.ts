import { parseString } from 'fast-csv';
import { ManifestError } from '../errors.js';
import { isDicomUid } from './types.js';

/** Column titles that carry the SeriesInstanceUID in NBIA portal exports, Data Retriever CSVs and our own session map. */
const UID_COLUMNS = ['seriesinstanceuid', 'seriesuid', 'seriesid'];

/** Matching ignores case, spaces and underscores (docs/reference/nbia.md#csv-manifest). */
function normalise(title: string): string {
  return title.replace(/[\s_]/g, '').toLowerCase();
}

/**
 * A spreadsheet's "Unicode text" is tab-separated, and its CSV semicolon-separated where the decimal mark is a
 * comma (docs/reference/nbia.md#csv-manifest): a title row with no comma is read with tabs if it has them, else
 * with semicolons if it has them; anything else with commas.
 */
export function delimiterOf(text: string): ',' | '\t' | ';' {
  const titles = text.split(/\r?\n/).find((line) => line.trim() !== '') ?? '';
  if (titles.includes(',')) return ',';
  if (titles.includes('\t')) return '\t';
  // A spreadsheet where the decimal mark is a comma saves "CSV" with semicolons between the fields.
  return titles.includes(';') ? ';' : ',';
}

/** Reads the series UID column of a CSV manifest, wherever it is and however it is quoted. */
export async function parseCsvManifest(text: string): Promise<{ uids: string[]; column: string }> {
  const rows: string[][] = [];
  const body = text.replace(/^\uFEFF/, '');
  await new Promise<void>((resolve, reject) => {
    // Blank lines are kept as empty rows (and skipped below), so a row's number is its line's in the file.
    parseString(body, { headers: false, ignoreEmpty: false, trim: true, delimiter: delimiterOf(body) })
      .on('error', reject)
      .on('data', (row: string[]) => rows.push(row))
      .on('end', () => resolve());
  }).catch((error: unknown) => {
    throw new ManifestError(`CSV could not be parsed: ${(error as Error).message}`, 'save the manifest as comma-separated text');
  });

  const blank = (row: string[]): boolean => row.every((cell) => cell === '');
  const first = rows.findIndex((row) => !blank(row));
  const titles = first < 0 ? [] : rows[first]!;
  const index = titles.findIndex((title) => UID_COLUMNS.includes(normalise(title)));
  if (index < 0) {
    throw new ManifestError(
      `CSV has no series UID column (found: ${titles.slice(0, 8).join(', ') || 'nothing'})`,
      'a CSV manifest needs a column titled SeriesInstanceUID, Series Instance UID, Series UID or Series ID',
    );
  }
  const uids: string[] = [];
  rows.forEach((row, at) => {
    const value = at <= first ? '' : (row[index] ?? '').trim();
    if (value === '') return;
    if (!isDicomUid(value)) {
      throw new ManifestError(
        `row ${at + 1}: '${value.slice(0, 60)}' in column ${titles[index]} is not a SeriesInstanceUID`,
        'the series column must hold DICOM UIDs: digits and dots, at most 64 characters',
      );
    }
    uids.push(value);
  });
  return { uids, column: titles[index] ?? '' };
}
