import { parseString } from 'fast-csv';
import { fullWidth } from '../../tcia/published-md5.js';

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
