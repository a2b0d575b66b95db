// Deterministic synthetic DICOM series for the NBIA and XNAT emulators: what identifies each series and its files,
// and collections of them (part10.ts writes the files' bytes).
import { createHash } from 'node:crypto';

/**
 * Everything that identifies one synthetic series; all other attributes are derived from it. A string outside
 * ASCII makes the files UTF-8 (SpecificCharacterSet ISO_IR 192); sizes count its bytes.
 */
export interface SeriesSpec {
  seriesUid: string;
  studyUid: string;
  patientId: string;
  /** DICOM PN form, e.g. 'CRC^0007', or '' for an empty name. */
  patientName: string;
  /** 'YYYYMMDD'. */
  studyDate: string;
  studyDescription: string;
  seriesDescription: string;
  modality: string;
  /** Absent: the files carry no SeriesNumber and NBIA lists it empty (real collections have such series). */
  seriesNumber?: number;
  imageCount: number;
  rows: number;
  columns: number;
  collection: string;
  license: string;
  /** How compressible the pixels are; absent: the original fill (4 noise bits, no padding). */
  pixels?: PixelShape;
  /** The dataset's transfer syntax; absent: Explicit VR Little Endian. */
  transferSyntax?: TransferSyntax;
  /** NBIA holds annotation files for the series (its metadata's AnnotationsFlag); getImage never serves them. */
  annotations?: boolean;
}

/** The uncompressed transfer syntaxes (PS3.5 §A.1–A.3) the builder writes. */
export type TransferSyntax = 'explicit-le' | 'implicit-le' | 'explicit-be';

/**
 * Compressibility knobs for the pixel fill. Real CT deflates about 2.5:1 at zip level 6, padded CT (air outside the
 * round field of view stored as one value) about 5.4:1; `{ noiseBits: 6, padding: 0.28 }` and
 * `{ noiseBits: 4, padding: 0.62 }` give those ratios for 512x512 images.
 */
export interface PixelShape {
  /** Random low bits added to every pixel inside the field of view (0-12). */
  noiseBits: number;
  /** 0-1: the field of view is a disc of radius sqrt(1 - padding) times half the image; outside it pixels are 0. */
  padding: number;
}

/** Knobs for generated specs; every field has a small, fast default. */
export interface CollectionShape {
  /** Inclusive range of images per series; default [3, 12]. */
  imagesPerSeries?: [number, number];
  /** Default 64. */
  rows?: number;
  /** Default 64. */
  columns?: number;
  /** buildCollection only; default 2. */
  seriesPerStudy?: number;
  /** buildCollection only; default 2. */
  studiesPerPatient?: number;
  /** Default 'CMB-CRC'. */
  collection?: string;
  /** Default 'CC BY 4.0'. */
  license?: string;
  /** Default ['CT', 'MR', 'PT']; one is picked per study. */
  modalities?: string[];
  /**
   * Default true: patients whose ordinal ends in 4, 6 or 8 are named "O'BRIEN^ANN", '' and 'VAN DER BERG^JAN' so
   * label cleaning is exercised; false gives every patient a plain 'CRC^0007'-style name.
   */
  awkwardNames?: boolean;
  /** Pixel compressibility; see PixelShape. */
  pixels?: PixelShape;
}

/** Attributes derived from a spec that both the DICOM header and the NBIA metadata carry. */
export interface SeriesExtras {
  sopClassUid: string;
  sopClassName: string;
  patientSex: 'M' | 'F';
  bodyPartExamined: string;
  manufacturer: string;
  manufacturerModelName: string;
  /** Row spacing in mm, as written to PixelSpacing. */
  pixelSpacing: string;
  sliceThickness: string;
  frameOfReferenceUid: string;
}

const DEFAULTS = {
  imagesPerSeries: [3, 12] as [number, number],
  rows: 64,
  columns: 64,
  seriesPerStudy: 2,
  studiesPerPatient: 2,
  collection: 'CMB-CRC',
  license: 'CC BY 4.0',
  modalities: ['CT', 'MR', 'PT'],
};

const SOP_CLASSES: Record<string, [uid: string, name: string]> = {
  CT: ['1.2.840.10008.5.1.4.1.1.2', 'CT Image Storage'],
  MR: ['1.2.840.10008.5.1.4.1.1.4', 'MR Image Storage'],
  PT: ['1.2.840.10008.5.1.4.1.1.128', 'Positron Emission Tomography Image Storage'],
  CR: ['1.2.840.10008.5.1.4.1.1.1', 'Computed Radiography Image Storage'],
  DX: ['1.2.840.10008.5.1.4.1.1.1.1', 'Digital X-Ray Image Storage - For Presentation'],
  MG: ['1.2.840.10008.5.1.4.1.1.1.2', 'Digital Mammography X-Ray Image Storage - For Presentation'],
  US: ['1.2.840.10008.5.1.4.1.1.6.1', 'Ultrasound Image Storage'],
  NM: ['1.2.840.10008.5.1.4.1.1.20', 'Nuclear Medicine Image Storage'],
  XA: ['1.2.840.10008.5.1.4.1.1.12.1', 'X-Ray Angiographic Image Storage'],
  // Derived objects ride along in imaging studies; only the SOP class matters to the importer and to XNAT.
  RTSTRUCT: ['1.2.840.10008.5.1.4.1.1.481.3', 'RT Structure Set Storage'],
  RTDOSE: ['1.2.840.10008.5.1.4.1.1.481.2', 'RT Dose Storage'],
  SEG: ['1.2.840.10008.5.1.4.1.1.66.4', 'Segmentation Storage'],
};
const SECONDARY_CAPTURE: [string, string] = ['1.2.840.10008.5.1.4.1.1.7', 'Secondary Capture Image Storage'];

// Descriptions include '/' and '&' on purpose: NBIA v1 reduces descriptions to [A-Za-z0-9 .-] (docs/reference/nbia.md#series-metadata-v1).
const STUDY_DESCRIPTIONS: Record<string, string[]> = {
  CT: ['CT CHEST ABDOMEN PELVIS W CONTRAST', 'CT ABD/PELVIS W IV CONTRAST'],
  MR: ['MRI PELVIS W/WO CONTRAST', 'MR ABDOMEN'],
  PT: ['PET/CT SKULL BASE TO THIGH', 'PET CT HEAD & NECK'],
};
const SERIES_DESCRIPTIONS: Record<string, string[]> = {
  CT: ['AXIAL 5MM', 'CORONAL 3MM', 'ARTERIAL PHASE'],
  MR: ['T2 AX', 'T1 AX POST GAD', 'DWI b800'],
  PT: ['PET AC', 'PET NAC', 'WB 3D MAC'],
};
const BODY_PARTS: Record<string, string> = { CT: 'CHEST', MR: 'PELVIS', PT: 'WHOLEBODY' };

// Names with characters XNAT's label cleaning rewrites (apostrophe, spaces) or nothing at all, keyed by ordinal % 10.
const AWKWARD_NAMES: Record<number, string> = { 4: "O'BRIEN^ANN", 6: '', 8: 'VAN DER BERG^JAN' };

export function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

const UID_SPAN = 9n * 10n ** 37n;
const UID_FLOOR = 10n ** 37n;

/** A valid DICOM UID under the root 2.25, always 43 characters, deterministic from `seed`. */
export function uidFromSeed(seed: string): string {
  const value = BigInt('0x' + digest(seed).subarray(0, 16).toString('hex'));
  // Exactly 38 digits, no leading zero: a fixed length lets instanceSize skip hashing every SOP UID.
  return `2.25.${(value % UID_SPAN) + UID_FLOOR}`;
}

/** A UID of the fixed length every uidFromSeed has, for sizing headers without hashing. */
export const UID_PLACEHOLDER = `2.25.${UID_FLOOR}`;

function pick<T>(list: readonly T[], n: number): T {
  return list[n % list.length] as T;
}

function inRange([lo, hi]: [number, number], n: number): number {
  return lo + (n % (hi - lo + 1));
}

function namePrefix(collection: string): string {
  const last = collection.split('-').pop() ?? collection;
  return last.replace(/[^A-Za-z0-9]/g, '').toUpperCase() || 'PT';
}

function addDays(yyyymmdd: string, days: number): string {
  const d = new Date(Date.UTC(+yyyymmdd.slice(0, 4), +yyyymmdd.slice(4, 6) - 1, +yyyymmdd.slice(6, 8) + days));
  return d.toISOString().slice(0, 10).replace(/-/g, '');
}

function baseDate(n: number): string {
  return addDays('20000101', n % 7300);
}

function patientNameFor(prefix: string, ordinal: number, awkward: boolean): string {
  const odd = AWKWARD_NAMES[ordinal % 10];
  if (awkward && odd !== undefined) return odd;
  return `${prefix}^${String(ordinal).padStart(4, '0')}`;
}

/** Deterministic spec for any series UID (seeded by the UID); each UID is its own patient+study unless a collection says otherwise. */
export function seriesSpecFromUid(uid: string, shape: CollectionShape = {}): SeriesSpec {
  const h = digest(`series:${uid}`);
  const collection = shape.collection ?? DEFAULTS.collection;
  const modality = pick(shape.modalities ?? DEFAULTS.modalities, h.readUInt32LE(0));
  const patientNumber = h.readUInt32LE(4) % 1e8;
  return {
    seriesUid: uid,
    studyUid: uidFromSeed(`study:${uid}`),
    patientId: `MSB-${String(patientNumber).padStart(8, '0')}`,
    patientName: patientNameFor(namePrefix(collection), h.readUInt32LE(8) % 10_000, shape.awkwardNames ?? true),
    studyDate: baseDate(h.readUInt32LE(12)),
    studyDescription: pick(STUDY_DESCRIPTIONS[modality] ?? ['SYNTHETIC STUDY'], h.readUInt32LE(16)),
    seriesDescription: pick(SERIES_DESCRIPTIONS[modality] ?? ['SYNTHETIC SERIES'], h.readUInt32LE(20)),
    modality,
    seriesNumber: 1 + (h.readUInt32LE(24) % 8),
    imageCount: inRange(shape.imagesPerSeries ?? DEFAULTS.imagesPerSeries, h.readUInt32LE(28)),
    rows: shape.rows ?? DEFAULTS.rows,
    columns: shape.columns ?? DEFAULTS.columns,
    collection,
    license: shape.license ?? DEFAULTS.license,
    ...(shape.pixels ? { pixels: shape.pixels } : {}),
  };
}

/**
 * Groups UIDs (in the given order, duplicates dropped) into patients and studies: seriesPerStudy series per study,
 * studiesPerPatient studies per patient. Every odd-numbered patient gets its study dates in reverse manifest order,
 * so ordering by date differs from ordering by manifest position. `overrides` are keyed by seriesUid or by the
 * generated patientId (which then applies to all of that patient's series); series keys win.
 */
export function buildCollection(
  uids: string[],
  shape: CollectionShape = {},
  overrides: Record<string, Partial<SeriesSpec>> = {},
): SeriesSpec[] {
  const seriesPerStudy = Math.max(1, shape.seriesPerStudy ?? DEFAULTS.seriesPerStudy);
  const studiesPerPatient = Math.max(1, shape.studiesPerPatient ?? DEFAULTS.studiesPerPatient);
  const collection = shape.collection ?? DEFAULTS.collection;
  const prefix = namePrefix(collection);
  const unique = [...new Set(uids)];
  const perPatient = seriesPerStudy * studiesPerPatient;
  return unique.map((uid, position) => {
    const base = seriesSpecFromUid(uid, shape);
    const patientOrdinal = Math.floor(position / perPatient) + 1;
    const studyInPatient = Math.floor((position % perPatient) / seriesPerStudy);
    const seriesInStudy = position % seriesPerStudy;
    const firstOfStudy = unique[position - seriesInStudy] as string;
    const firstOfPatient = unique[(patientOrdinal - 1) * perPatient] as string;
    const studyCount = Math.min(studiesPerPatient, Math.ceil((unique.length - (patientOrdinal - 1) * perPatient) / seriesPerStudy));
    const chronological = patientOrdinal % 2 === 0 ? studyInPatient : studyCount - 1 - studyInPatient;
    const studySeed = digest(`study:${firstOfStudy}`);
    const modality = pick(shape.modalities ?? DEFAULTS.modalities, studySeed.readUInt32LE(0));
    const patientId = `MSB-${String(patientOrdinal).padStart(5, '0')}`;
    const spec: SeriesSpec = {
      ...base,
      studyUid: uidFromSeed(`study:${firstOfStudy}`),
      patientId,
      patientName: patientNameFor(prefix, patientOrdinal, shape.awkwardNames ?? true),
      studyDate: addDays(baseDate(digest(`patient:${firstOfPatient}`).readUInt32LE(0)), chronological * 97),
      studyDescription: pick(STUDY_DESCRIPTIONS[modality] ?? ['SYNTHETIC STUDY'], studySeed.readUInt32LE(4)),
      seriesDescription: pick(SERIES_DESCRIPTIONS[modality] ?? ['SYNTHETIC SERIES'], seriesInStudy),
      modality,
      seriesNumber: seriesInStudy + 1,
    };
    return { ...spec, ...overrides[patientId], ...overrides[uid] };
  });
}

/** Header attributes that the DICOM files and the NBIA metadata must agree on. */
export function seriesExtras(spec: SeriesSpec): SeriesExtras {
  const [sopClassUid, sopClassName] = SOP_CLASSES[spec.modality] ?? SECONDARY_CAPTURE;
  const h = digest(`extras:${spec.seriesUid}`);
  return {
    sopClassUid,
    sopClassName,
    patientSex: digest(`sex:${spec.patientId}`).readUInt8(0) % 2 === 0 ? 'F' : 'M',
    bodyPartExamined: BODY_PARTS[spec.modality] ?? 'ABDOMEN',
    manufacturer: 'XTD SYNTHETIC',
    manufacturerModelName: `EMULATOR ${spec.modality}`,
    pixelSpacing: (0.5 + (h.readUInt8(0) % 40) / 100).toFixed(2),
    sliceThickness: (1 + (h.readUInt8(1) % 4)).toFixed(1),
    frameOfReferenceUid: uidFromSeed(`for:${spec.studyUid}`),
  };
}

/** Deterministic SOPInstanceUID of image `index` (0-based) of the series. */
export function sopInstanceUid(spec: SeriesSpec, index: number): string {
  return uidFromSeed(`sop:${spec.seriesUid}:${index}`);
}
