import { ManifestError } from '../errors.js';
import { isDicomUid } from './types.js';

export interface ParsedTcia {
  header: Record<string, string>;
  uids: string[];
  skipped: string[];
}

const MARKER = 'listofseriestodownload';

/**
 * Parses NBIA's `.tcia` format: Properties-style header keys, then one SeriesInstanceUID per line after
 * `ListOfSeriesToDownload=`. NBIA's parser reads the header with java.util.Properties (CRLF, `#` comments,
 * `key: value`) and finds the marker case-insensitively (docs/reference/nbia.md#tcia-manifest).
 */
export function parseTcia(text: string): ParsedTcia {
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  const header: Record<string, string> = {};
  const uids: string[] = [];
  const skipped: string[] = [];
  let inList = false;

  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (line === '') return;
    if (!inList) {
      if (line.startsWith('#') || line.startsWith('!')) return;
      const match = /^([^=:\s]+)\s*[=:]\s*(.*)$/.exec(line);
      if (!match) {
        throw new ManifestError(
          `line ${index + 1}: '${truncate(line)}' is not a 'key=value' header line`,
          'a .tcia manifest starts with header keys such as downloadServerUrl=…, then ListOfSeriesToDownload= and one SeriesInstanceUID per line',
        );
      }
      const key = match[1] ?? '';
      if (key.toLowerCase() === MARKER) {
        inList = true;
        // Some hand-made manifests put the first UID on the marker line itself.
        const rest = (match[2] ?? '').trim();
        if (rest !== '') pushUid(rest, index);
        return;
      }
      header[key] = (match[2] ?? '').trim();
      return;
    }
    pushUid(line, index);
  });

  function pushUid(line: string, index: number): void {
    // NBIA's own test manifests carry a 'Series ID' column title after the marker (docs/reference/nbia.md#tcia-manifest).
    if (/^series\s*(instance\s*)?(id|uid)$/i.test(line)) {
      skipped.push(line);
      return;
    }
    if (!isDicomUid(line)) {
      throw new ManifestError(
        `line ${index + 1}: '${truncate(line)}' is not a SeriesInstanceUID`,
        'each line after ListOfSeriesToDownload= must be one DICOM UID: digits and dots, at most 64 characters',
      );
    }
    uids.push(line);
  }

  if (!inList) {
    throw new ManifestError(
      'no ListOfSeriesToDownload= line found',
      'a .tcia manifest lists its SeriesInstanceUIDs after a line ListOfSeriesToDownload=; download the manifest again from TCIA or use a CSV with a SeriesInstanceUID column',
    );
  }
  return { header, uids, skipped };
}

function truncate(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
