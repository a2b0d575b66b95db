import { parseString } from 'fast-csv';
import { ManifestError } from '../errors.js';
import { isDicomUid } from './types.js';

/** Column titles that carry the SeriesInstanceUID in NBIA portal exports, Data Retriever CSVs and our own session map. */
const UID_COLUMNS = ['seriesinstanceuid', 'seriesuid', 'seriesid'];

/** Matching ignores case, spaces and underscores (docs/reference/nbia.md#csv-manifest). */
function normalise(title: string): string {
  return title.replace(/[\s_]/g, '').toLowerCase();
}

/** Reads the series UID column of a CSV manifest, wherever it is and however it is quoted. */
export async function parseCsvManifest(text: string): Promise<{ uids: string[]; column: string }> {
  const rows: string[][] = [];
  await new Promise<void>((resolve, reject) => {
    parseString(text.replace(/^\uFEFF/, ''), { headers: false, ignoreEmpty: true, trim: true })
      .on('error', reject)
      .on('data', (row: string[]) => rows.push(row))
      .on('end', () => resolve());
  }).catch((error: unknown) => {
    throw new ManifestError(`CSV could not be parsed: ${(error as Error).message}`, 'save the manifest as comma-separated text');
  });

  const titles = rows[0] ?? [];
  const index = titles.findIndex((title) => UID_COLUMNS.includes(normalise(title)));
  if (index < 0) {
    throw new ManifestError(
      `CSV has no series UID column (found: ${titles.slice(0, 8).join(', ') || 'nothing'})`,
      'a CSV manifest needs a column titled SeriesInstanceUID, Series Instance UID, Series UID or Series ID',
    );
  }
  const uids: string[] = [];
  rows.slice(1).forEach((row, offset) => {
    const value = (row[index] ?? '').trim();
    if (value === '') return;
    if (!isDicomUid(value)) {
      throw new ManifestError(
        `row ${offset + 2}: '${value.slice(0, 60)}' in column ${titles[index]} is not a SeriesInstanceUID`,
        'the series column must hold DICOM UIDs: digits and dots, at most 64 characters',
      );
    }
    uids.push(value);
  });
  return { uids, column: titles[index] ?? '' };
}
