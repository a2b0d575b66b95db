/**
 * How the archive catalogues a scan's files: per file, by SOP class, primary imaging classes under `DICOM` and the
 * rest under `secondary` (docs/reference/xnat-rest.md#scan-resources). The emulated prearchive keeps one `DICOM`
 * resource (XNAT's built one may split too; the tool counts both either way).
 */
import type { StoredFile, StoredScan } from './state.js';

/** The primary imaging SOP classes (XNAT's list, as UIDs). */
const PRIMARY_SOP_CLASSES = new Set(
  [
    '1', '1.1', '1.1.1', '1.2', '1.2.1', '1.3', '1.3.1', // CR, DX, MG, intra-oral X-ray
    '2', '2.1', '4', '4.1', '128', '130', // CT, MR, PET and their Enhanced forms
    '3.1', '6.1', '6.3', '20', // US multi-frame, US, photoacoustic, NM
    '12.1', '12.2', '13.1.1', '13.1.2', // XA, RF, 3D X-ray (breast tomosynthesis is not on XNAT's list)
    '481.1', '481.2', // RT Image, RT Dose
    '77.1.1.1', '77.1.2', '77.1.2.1', '77.1.4.1', '77.1.5.1', '77.1.5.2', '77.1.5.4', '77.1.6', '77.1.7', '77.1.8', // visible light
    '9.1.1', '9.1.3', '9.2.1', '9.3.1', '9.6.1', '9.7.2', '9.7.3', '9.8.1', // waveforms
    '88.11', '88.22', '91.1', '104.4', '104.5', // Basic Text SR, Enhanced SR, annotations, OBJ, MTL
  ].map((suffix) => `1.2.840.10008.5.1.4.1.1.${suffix}`),
);

export interface ScanResource {
  label: 'DICOM' | 'secondary';
  content: 'RAW' | 'secondary';
  catId: number;
  files: StoredFile[];
}

/** The archived scan's resources that hold files, DICOM first. */
export function scanResources(scan: StoredScan): ScanResource[] {
  const primary: StoredFile[] = [];
  const secondary: StoredFile[] = [];
  for (const f of scan.files.values()) (PRIMARY_SOP_CLASSES.has(f.sopClassUid) ? primary : secondary).push(f);
  const resources: ScanResource[] = [];
  if (primary.length > 0) resources.push({ label: 'DICOM', content: 'RAW', catId: scan.catId, files: primary });
  if (secondary.length > 0) resources.push({ label: 'secondary', content: 'secondary', catId: scan.secondaryCatId ?? -scan.catId, files: secondary });
  return resources;
}

/** The resource a path names, by label or by its catalog ID. */
export function scanResource(scan: StoredScan, name: string): ScanResource | undefined {
  return scanResources(scan).find((r) => r.label === name || String(r.catId) === name);
}

export function bytesOf(files: Iterable<StoredFile>): number {
  let n = 0;
  for (const f of files) n += f.size;
  return n;
}
