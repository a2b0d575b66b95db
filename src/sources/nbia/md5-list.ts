import { parseString } from 'fast-csv';

/**
 * Reads NBIA's md5hashes.csv: `Filename,MD5Hash` then one unquoted row per file, in no particular order
 * (docs/reference/nbia.md#md5-list).
 */
export async function parseMd5List(text: string): Promise<Map<string, string>> {
  const hashes = new Map<string, string>();
  await new Promise<void>((resolve, reject) => {
    parseString(text, { headers: true, ignoreEmpty: true, trim: true })
      .on('error', reject)
      .on('data', (row: Record<string, string>) => {
        const name = row.Filename ?? row.filename ?? '';
        const hash = (row.MD5Hash ?? row.md5hash ?? '').toLowerCase();
        if (name && hash) hashes.set(name, hash);
      })
      .on('end', () => resolve());
  });
  return hashes;
}
