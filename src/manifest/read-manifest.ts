import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { ManifestError } from '../errors.js';
import { parseCsvManifest } from './parse-csv.js';
import { parseTcia } from './parse-tcia.js';
import { dedupe, type Manifest } from './types.js';

export type { Manifest } from './types.js';

/** Reads a `.tcia` or CSV manifest; the format comes from the content, the extension only breaks ties. */
export async function readManifest(path: string): Promise<Manifest> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (error as Error).message;
    throw new ManifestError(`cannot read manifest ${path}: ${why}`, 'pass the path of a .tcia or .csv manifest');
  }
  const fileName = basename(path);
  if (bytes.length === 0) {
    throw new ManifestError(`manifest ${fileName} is empty`, 'download the manifest again from TCIA');
  }
  const text = decodeText(bytes, fileName);
  const format = detectFormat(text, fileName);

  const warnings: string[] = [];
  let header: Record<string, string> = {};
  let uids: string[];
  try {
    if (format === 'tcia') {
      const parsed = parseTcia(text);
      header = parsed.header;
      uids = parsed.uids;
      if (parsed.skipped.length > 0) warnings.push(`skipped column title line '${parsed.skipped[0]}'`);
    } else {
      uids = (await parseCsvManifest(text)).uids;
    }
  } catch (error) {
    // The parsers name the line; the file is named here, once.
    if (error instanceof ManifestError) throw new ManifestError(`manifest ${fileName}, ${error.message}`, error.hint);
    throw error;
  }

  const { unique, duplicates } = dedupe(uids);
  if (duplicates.length > 0) {
    warnings.push(`${duplicates.length} duplicate SeriesInstanceUID line(s) ignored (first: ${duplicates[0]})`);
  }
  if (unique.length === 0) {
    throw new ManifestError(`manifest ${fileName} lists no series`, 'add at least one SeriesInstanceUID');
  }
  return { path, fileName, format, seriesUids: unique, header, warnings, bytes };
}

function decodeText(bytes: Buffer, fileName: string): string {
  // A spreadsheet saved as "Unicode text" is UTF-16 with a byte-order mark; TextDecoder drops the mark.
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder('utf-16le').decode(bytes);
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return new TextDecoder('utf-16be').decode(bytes);
  if (bytes.subarray(0, 8192).includes(0) || bytes.subarray(0, 4).toString('latin1') === 'PK\u0003\u0004') {
    const hint = bytes.subarray(0, 4).toString('latin1') === 'PK\u0003\u0004' ? 'this is a zip archive: unzip it first' : 'pass the text manifest (.tcia or .csv) downloaded from TCIA';
    throw new ManifestError(`manifest ${fileName} is a binary file, not text`, hint);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    // Not UTF-8 but text: a CSV a spreadsheet saved in the system's code page (a 'µ' or 'é' in a description).
    // Only the ASCII UID column is read, so the code page's other characters need only survive, not be exact.
    return new TextDecoder('windows-1252').decode(bytes);
  }
}

function detectFormat(text: string, fileName: string): 'tcia' | 'csv' {
  if (/^\s*ListOfSeriesToDownload\s*[=:]/im.test(text)) return 'tcia';
  const extension = extname(fileName).toLowerCase();
  if (extension === '.tcia') return 'tcia';
  const firstLine = text.replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0] ?? '';
  if (extension === '.csv' || firstLine.includes(',') || firstLine.includes('\t')) return 'csv';
  throw new ManifestError(
    `cannot tell what kind of manifest ${fileName} is`,
    'expected a .tcia manifest (with a ListOfSeriesToDownload= line) or a CSV with a SeriesInstanceUID column',
  );
}
