/**
 * NBIA serves each file's digest as it was stored at ingest, and one ingest path stores the string its DICOM
 * pipeline gave rather than a 32-digit form (docs/reference/nbia.md#md5-list). A hex value of fewer digits can
 * only stand for the MD5 with that many leading zeros, so padding it loosens nothing.
 */
export function fullWidth(hash: string): string {
  return /^[0-9a-f]{1,31}$/.test(hash) ? hash.padStart(32, '0') : hash;
}
