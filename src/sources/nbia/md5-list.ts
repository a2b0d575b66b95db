import { parseString } from 'fast-csv';

/**
 * Reads NBIA's md5hashes.csv: `Filename,MD5Hash` then one unquoted row per file, in no particular order
 * (docs/reference/nbia.md#md5-list). A file listed with a blank hash maps to '': TCIA publishes no checksum for it.
 */
export async function parseMd5List(text: string): Promise<Map<string, string>> {
  const hashes = new Map<string, string>();
  await new Promise<void>((resolve, reject) => {
    parseString(text, { headers: true, ignoreEmpty: true, trim: true })
      .on('error', reject)
      .on('data', (row: Record<string, string>) => {
        const name = row.Filename ?? row.filename ?? '';
        const hash = (row.MD5Hash ?? row.md5hash ?? '').toLowerCase();
        if (name) hashes.set(name, hash ? fullWidth(hash) : '');
      })
      .on('end', () => resolve());
  });
  return hashes;
}

/**
 * NBIA serves each file's digest as it was stored at ingest, and one ingest path stores the string its DICOM
 * pipeline gave rather than a 32-digit form (docs/reference/nbia.md#md5-list). A hex value of fewer digits can
 * only stand for the MD5 with that many leading zeros, so padding it loosens nothing.
 */
export function fullWidth(hash: string): string {
  return /^[0-9a-f]{1,31}$/.test(hash) ? hash.padStart(32, '0') : hash;
}
