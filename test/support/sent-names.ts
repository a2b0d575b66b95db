import { readDicomHeader } from '../../src/transfer/dicom-header.js';

/** The name the relay sends a DICOM file to XNAT under: its SOPInstanceUID (src/transfer/relay-series.ts). */
export function sentName(bytes: Buffer): string {
  const sop = readDicomHeader(bytes)?.sopInstanceUid;
  if (!sop) throw new Error('test file has no SOPInstanceUID');
  return `${sop}.dcm`;
}
