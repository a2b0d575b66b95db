/** DICOM header reading and the identifier rules XNAT applies to it (docs/reference/xnat-rest.md#labels). */
import dicomParser from 'dicom-parser';

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

/**
 * Parses the header of a Part 10 file or of a bare dataset (no preamble, no file meta), as dcm4che does; undefined
 * when it is not readable DICOM. Strings are read byte for byte: the importer only compares and cleans them.
 */
export function readDicomHeader(bytes: Buffer): DicomHeader | undefined {
  const ds = parseAny(bytes);
  if (!ds) return undefined;
  const str = (tag: string): string => (ds.string(tag) ?? '').trim();
  return {
    sopInstanceUid: str('x00080018'),
    sopClassUid: str('x00080016'),
    studyInstanceUid: str('x0020000d'),
    seriesInstanceUid: str('x0020000e'),
    seriesNumber: str('x00200011'),
    instanceNumber: str('x00200013'),
    modality: str('x00080060'),
    patientName: str('x00100010'),
    patientId: str('x00100020'),
    studyDate: str('x00080020'),
    studyTime: str('x00080030'),
    studyDescription: str('x00081030'),
    seriesDescription: str('x0008103e'),
    accessionNumber: str('x00080050'),
    comments: [str('x00104000'), str('x00324000'), str('x001021b0')],
  };
}

/**
 * A bare dataset is tried in each uncompressed transfer syntax until one yields a SOP Instance UID; a Part 10
 * file whose meta group lacks the Transfer Syntax is read as explicit VR little endian (dcm4che's fallback).
 */
function parseAny(bytes: Buffer): dicomParser.DataSet | undefined {
  const part10 = bytes.length > 132 && bytes.toString('latin1', 128, 132) === 'DICM';
  if (part10) {
    try {
      return dicomParser.parseDicom(bytes, { untilTag: 'x7fe00010' });
    } catch {
      const meta = attempt(() => dicomParser.readPart10Header(bytes)) as (dicomParser.DataSet & { position?: number }) | undefined;
      if (!meta || meta.elements.x00020010 || meta.position === undefined) return undefined;
      bytes = bytes.subarray(meta.position);
    }
  }
  for (const TransferSyntaxUID of ['1.2.840.10008.1.2', '1.2.840.10008.1.2.1', '1.2.840.10008.1.2.2']) {
    const ds = attempt(() => dicomParser.parseDicom(bytes, { untilTag: 'x7fe00010', TransferSyntaxUID }));
    if (ds?.string('x00080018')) return ds;
  }
  return undefined;
}

function attempt<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
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
