/** DICOM header reading (dcmjs) and the identifier rules XNAT applies to it (reference §7). */
import { createRequire } from 'node:module';

// Jest's ESM resolver would pick dcmjs's `module` build and load it as CommonJS; the CommonJS build loads everywhere.
const dcmjs = createRequire(import.meta.url)('dcmjs') as typeof import('dcmjs');

/** The attributes the importer looks at. */
export interface DicomHeader {
  sopInstanceUid: string;
  sopClassUid: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  seriesNumber: string;
  instanceNumber: string;
  modality: string;
  patientName: string;
  patientId: string;
  studyDate: string;
  studyTime: string;
  studyDescription: string;
  seriesDescription: string;
  accessionNumber: string;
  /** PatientComments, StudyComments, AdditionalPatientHistory, in XNAT's search order. */
  comments: string[];
}

/** Parses the header of a Part 10 file; undefined when it is not readable DICOM. */
export function readDicomHeader(bytes: Buffer): DicomHeader | undefined {
  let ds: Record<string, unknown>;
  try {
    const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    const dict = dcmjs.data.DicomMessage.readFile(ab, { untilTag: '7FE00010', includeUntilTagValue: false, ignoreErrors: false });
    ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dict.dict);
  } catch {
    return undefined;
  }
  const str = (key: string): string => text(ds[key]);
  return {
    sopInstanceUid: str('SOPInstanceUID'),
    sopClassUid: str('SOPClassUID'),
    studyInstanceUid: str('StudyInstanceUID'),
    seriesInstanceUid: str('SeriesInstanceUID'),
    seriesNumber: str('SeriesNumber'),
    instanceNumber: str('InstanceNumber'),
    modality: str('Modality'),
    patientName: str('PatientName'),
    patientId: str('PatientID'),
    studyDate: str('StudyDate'),
    studyTime: str('StudyTime'),
    studyDescription: str('StudyDescription'),
    seriesDescription: str('SeriesDescription'),
    accessionNumber: str('AccessionNumber'),
    comments: [str('PatientComments'), str('StudyComments'), str('AdditionalPatientHistory')],
  };
}

function text(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (Array.isArray(v)) return v.length ? text(v[0]) : '';
  if (typeof v === 'object') {
    const pn = v as { Alphabetic?: unknown };
    return pn.Alphabetic !== undefined ? text(pn.Alphabetic) : '';
  }
  return String(v).trim();
}

/** `Key: value` in the comment fields (ContainedAssignmentExtractor), first match wins. */
export function containedAssignment(h: DicomHeader, key: string): string | undefined {
  const re = new RegExp(`(?:^|[\\s\\S]*[\\s,;])${key}\\s*:\\s*([\\w-]*)`, 'i');
  for (const c of h.comments) {
    const m = re.exec(c);
    if (m && m[1]) return m[1];
  }
  return undefined;
}

/** Subject and session labels are cleaned with `[^\w-]` → `_` (org.nrg.xnat.Labels). */
export function cleanDicomLabel(v: string): string {
  return v.replace(/[^A-Za-z0-9_-]/g, '_');
}

/** OmUtils.cleanValue: the label clean-up at archive time. */
export function omCleanValue(v: string): string {
  return v.trim().replace(/[`~@#$%^&*()+=[\]{}|\\/?:;',.<> ]/g, '_');
}

/** Labels that XNAT accepts for subjects and experiments (BaseXnatExperimentdata). */
export const LABEL_RE = /^[A-Za-z0-9_-]+$/;

const SESSION_TYPES: Record<string, string> = {
  MR: 'mr',
  CT: 'ct',
  PT: 'pet',
  NM: 'nm',
  US: 'us',
  CR: 'cr',
  DX: 'dx',
  MG: 'mg',
  XA: 'xa',
  RF: 'rf',
  OPT: 'opt',
  OP: 'op',
  ES: 'es',
  XC: 'xc',
  IO: 'io',
  SM: 'sm',
  ECG: 'ecg',
  EPS: 'eps',
  HD: 'hd',
  GM: 'gm',
};

const SCAN_ONLY_TYPES: Record<string, string> = { SR: 'sr', SC: 'sc', SEG: 'seg', OT: 'otherDicom' };

/** Scan xsi:type for a modality. */
export function scanXsiType(modality: string): string {
  const t = SESSION_TYPES[modality] ?? SCAN_ONLY_TYPES[modality] ?? 'otherDicom';
  return `xnat:${t}ScanData`;
}

/** The lead modality of a session: PET over MR over CT over any other imaging modality. */
export function leadModality(modalities: string[]): string {
  for (const m of ['PT', 'MR', 'CT']) if (modalities.includes(m)) return m;
  return modalities.find((m) => SESSION_TYPES[m] !== undefined) ?? modalities[0] ?? 'OT';
}

/** Session xsi:type for a lead modality. */
export function sessionXsiType(modality: string): string {
  const t = SESSION_TYPES[modality];
  return t ? `xnat:${t}SessionData` : 'xnat:otherDicomSessionData';
}

/** The DicomFileNamer pattern `${StudyInstanceUID}-${SeriesNumber}-${InstanceNumber}-${hash}.dcm`. */
export function namerFileName(h: DicomHeader): string {
  let hash = 0;
  for (const ch of `${h.sopClassUid}${h.sopInstanceUid}`) hash = (Math.imul(hash, 31) + ch.charCodeAt(0)) >>> 0;
  return `${h.studyInstanceUid}-${h.seriesNumber || '0'}-${h.instanceNumber || '0'}-${hash.toString(36)}.dcm`;
}
