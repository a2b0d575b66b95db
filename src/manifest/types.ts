/** A manifest as read from disk: the series to import and what the file said about where they come from. */
export interface Manifest {
  path: string;
  fileName: string;
  format: 'tcia' | 'csv';
  /** Unique SeriesInstanceUIDs in file order. */
  seriesUids: string[];
  /** `.tcia` header keys (downloadServerUrl, noOfrRetry, …); empty for CSV. */
  header: Record<string, string>;
  /** Things worth telling the user that did not stop the run (duplicates, skipped lines). */
  warnings: string[];
  /** The file's exact bytes, for the MANIFEST_ORIGINAL record. */
  bytes: Buffer;
}

const UID = /^[0-9]+(\.[0-9]+)*$/;

/** A DICOM UID is digits and dots, at most 64 characters (PS3.5 §9.1). */
export function isDicomUid(value: string): boolean {
  return value.length > 0 && value.length <= 64 && UID.test(value);
}

/** Keeps first occurrences; returns the duplicates so the caller can warn. */
export function dedupe(uids: string[]): { unique: string[]; duplicates: string[] } {
  const seen = new Set<string>();
  const duplicates: string[] = [];
  for (const uid of uids) {
    if (seen.has(uid)) duplicates.push(uid);
    else seen.add(uid);
  }
  return { unique: [...seen], duplicates };
}
