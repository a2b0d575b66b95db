// Deterministic synthetic DICOM series for the NBIA and XNAT emulators: specs, collections and Part 10 bytes.
import { createHash } from 'node:crypto';
import { endianness } from 'node:os';
import dcmjs from 'dcmjs';
import type { DenaturalizedDataset } from 'dcmjs';

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
}

/** The uncompressed transfer syntaxes (PS3.5 §A.1–A.3) the builder writes. */
export type TransferSyntax = 'explicit-le' | 'implicit-le' | 'explicit-be';

const TRANSFER_SYNTAX_UIDS: Record<TransferSyntax, string> = {
  'explicit-le': '1.2.840.10008.1.2.1',
  'implicit-le': '1.2.840.10008.1.2',
  'explicit-be': '1.2.840.10008.1.2.2',
};

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

const IMPLEMENTATION_CLASS_UID = '2.25.271828182845904523536028747135266249';
const IMPLEMENTATION_VERSION = 'XTD_SYNTH_1';

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

function digest(text: string): Buffer {
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

const UID_PLACEHOLDER = `2.25.${UID_FLOOR}`;

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

type Element = [tag: string, vr: string, values: (string | number)[]];

// Explicit VR: these VRs use a 12-byte element header, the rest 8 (PS3.5 §7.1.2); implicit VR: all 8 (PS3.5 §7.1.3).
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);

function syntaxOf(spec: SeriesSpec): TransferSyntax {
  return spec.transferSyntax ?? 'explicit-le';
}

/** Whether a string of the spec needs a character set beyond ASCII. */
function needsUtf8(spec: SeriesSpec): boolean {
  return [spec.patientName, spec.patientId, spec.studyDescription, spec.seriesDescription].some((text) => /[^\t\n\r -~]/.test(text));
}

function metaElements(sopUid: string, extras: SeriesExtras, syntax: TransferSyntax): Element[] {
  return [
    ['00020002', 'UI', [extras.sopClassUid]],
    ['00020003', 'UI', [sopUid]],
    ['00020010', 'UI', [TRANSFER_SYNTAX_UIDS[syntax]]],
    ['00020012', 'UI', [IMPLEMENTATION_CLASS_UID]],
    ['00020013', 'SH', [IMPLEMENTATION_VERSION]],
  ];
}

// Only these vary per instance; dcmjs sorts by tag on write, so they can live in their own list.
function instanceElements(index: number, extras: SeriesExtras): Element[] {
  const z = (-index * Number(extras.sliceThickness)).toFixed(2);
  return [
    ['00200013', 'IS', [String(index + 1)]],
    ['00200032', 'DS', ['0', '0', z]],
    ['00201041', 'DS', [z]],
  ];
}

function seriesElements(spec: SeriesSpec, sopUid: string, extras: SeriesExtras): Element[] {
  return [
    ...(needsUtf8(spec) ? [['00080005', 'CS', ['ISO_IR 192']] as Element] : []),
    ['00080008', 'CS', ['ORIGINAL', 'PRIMARY', 'AXIAL']],
    ['00080016', 'UI', [extras.sopClassUid]],
    ['00080018', 'UI', [sopUid]],
    ['00080020', 'DA', [spec.studyDate]],
    ['00080021', 'DA', [spec.studyDate]],
    ['00080030', 'TM', ['101500']],
    ['00080050', 'SH', ['']],
    ['00080060', 'CS', [spec.modality]],
    ['00080070', 'LO', [extras.manufacturer]],
    ['00080090', 'PN', ['']],
    ['00081030', 'LO', [spec.studyDescription]],
    ['0008103E', 'LO', [spec.seriesDescription]],
    ['00081090', 'LO', [extras.manufacturerModelName]],
    ['00100010', 'PN', [spec.patientName]],
    ['00100020', 'LO', [spec.patientId]],
    ['00100030', 'DA', ['']],
    ['00100040', 'CS', [extras.patientSex]],
    ['00120062', 'CS', ['YES']],
    // TCIA's CTP anonymiser stamps the collection into private group 0013 ("CTP" creator, ProjectName).
    ['00130010', 'LO', ['CTP']],
    ['00131010', 'LO', [spec.collection]],
    ['00180015', 'CS', [extras.bodyPartExamined]],
    ['00180050', 'DS', [extras.sliceThickness]],
    ['0020000D', 'UI', [spec.studyUid]],
    ['0020000E', 'UI', [spec.seriesUid]],
    ['00200010', 'SH', ['']],
    ...(spec.seriesNumber === undefined ? [] : [['00200011', 'IS', [String(spec.seriesNumber)]] as Element]),
    ['00200012', 'IS', ['1']],
    ['00200037', 'DS', ['1', '0', '0', '0', '1', '0']],
    ['00200052', 'UI', [extras.frameOfReferenceUid]],
    ['00280002', 'US', [1]],
    ['00280004', 'CS', ['MONOCHROME2']],
    ['00280010', 'US', [spec.rows]],
    ['00280011', 'US', [spec.columns]],
    ['00280030', 'DS', [extras.pixelSpacing, extras.pixelSpacing]],
    ['00280100', 'US', [16]],
    ['00280101', 'US', [12]],
    ['00280102', 'US', [11]],
    ['00280103', 'US', [0]],
  ];
}

function encodedLength(elements: Element[], syntax: TransferSyntax = 'explicit-le'): number {
  let total = 0;
  for (const [, vr, values] of elements) {
    const valueLength = vr === 'US' ? 2 * values.length : Buffer.byteLength(values.join('\\'), 'utf8');
    total += (syntax !== 'implicit-le' && LONG_VRS.has(vr) ? 12 : 8) + valueLength + (valueLength % 2);
  }
  return total;
}

function toDataset(elements: Element[]): DenaturalizedDataset {
  return Object.fromEntries(elements.map(([tag, vr, values]) => [tag, { vr, Value: values }]));
}

const PREAMBLE_AND_MAGIC = 132;
// (0002,0000) UL group length and (0002,0001) OB file meta version: not in metaElements because dcmjs and we add them.
const FIXED_META_LENGTH = 12 + 14;
/** PixelData's element header: tag, VR OW, two reserved bytes and a 4-byte length; tag and length only when implicit. */
function pixelElementHeader(syntax: TransferSyntax): number {
  return syntax === 'implicit-le' ? 8 : 12;
}

// Every UID is 43 characters, so the placeholder measures the same as the real SOP Instance UID.
function constantLength(spec: SeriesSpec, extras: SeriesExtras): number {
  const syntax = syntaxOf(spec);
  return (
    PREAMBLE_AND_MAGIC +
    FIXED_META_LENGTH +
    // The file meta group is always explicit VR little endian (PS3.10 §7.1).
    encodedLength(metaElements(UID_PLACEHOLDER, extras, syntax)) +
    encodedLength(seriesElements(spec, UID_PLACEHOLDER, extras), syntax) +
    pixelElementHeader(syntax) +
    spec.rows * spec.columns * 2
  );
}

/** Exact byte length of makeInstance(spec, index), computed without generating it. */
export function instanceSize(spec: SeriesSpec, index: number): number {
  const extras = seriesExtras(spec);
  return constantLength(spec, extras) + encodedLength(instanceElements(index, extras), syntaxOf(spec));
}

/** Total bytes of all instances of the series (what NBIA reports as FileSize). */
export function seriesByteSize(spec: SeriesSpec): number {
  const extras = seriesExtras(spec);
  let total = spec.imageCount * constantLength(spec, extras);
  for (let i = 0; i < spec.imageCount; i++) total += encodedLength(instanceElements(i, extras), syntaxOf(spec));
  return total;
}

function fillPixels(target: Uint16Array, spec: SeriesSpec, index: number): void {
  const seed = digest(`pixels:${spec.seriesUid}:${index}`);
  // xorshift32; a zero state would stay zero forever.
  let state = seed.readUInt32LE(0) || 0x9e3779b9;
  const { rows, columns } = spec;
  const span = Math.max(1, rows + columns);
  const ramp = 2048 / span;
  const noise = (1 << (spec.pixels?.noiseBits ?? 4)) - 1;
  // Squared radius of the field of view in pixels, scaled so a circle fits the image; Infinity: no padding.
  const padding = spec.pixels?.padding ?? 0;
  const inside = padding > 0 ? (1 - padding) * (rows / 2) * (columns / 2) : Infinity;
  let p = 0;
  for (let y = 0; y < rows; y++) {
    const dy = y - rows / 2;
    for (let x = 0; x < columns; x++) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      const dx = x - columns / 2;
      // Gradient plus 4 bits of noise by default: DEFLATE level 1 saves about a third, near the 40-60% of real CT
      // (docs/reference/nbia.md#sizes); spec.pixels changes the noise and pads outside a disc.
      target[p++] = dx * dx + dy * dy > inside ? 0 : 1024 + Math.floor(((x + y + 3 * index) % span) * ramp) + ((state >>> 0) & noise);
    }
  }
}

/** One DICOM Part 10 instance (index 0..imageCount-1), byte-identical for the same inputs. */
export function makeInstance(spec: SeriesSpec, index: number): Buffer {
  if (!Number.isInteger(index) || index < 0 || index >= spec.imageCount) {
    throw new RangeError(`Instance index ${index} is outside 0..${spec.imageCount - 1} for series ${spec.seriesUid}`);
  }
  const extras = seriesExtras(spec);
  const syntax = syntaxOf(spec);
  const sopUid = sopInstanceUid(spec, index);
  const dict = new dcmjs.data.DicomDict({
    ...toDataset(metaElements(sopUid, extras, syntax)),
    '00020001': { vr: 'OB', Value: [new Uint8Array([0, 1]).buffer] },
  });
  dict.dict = toDataset([...seriesElements(spec, sopUid, extras), ...instanceElements(index, extras)]);
  const header = Buffer.from(dict.write());
  const pixelBytes = spec.rows * spec.columns * 2;
  // allocUnsafeSlow gives an unpooled ArrayBuffer at offset 0, so the (even) pixel offset is 2-byte aligned.
  const out = Buffer.allocUnsafeSlow(header.length + pixelElementHeader(syntax) + pixelBytes);
  header.copy(out, 0);
  let o = header.length;
  const bigEndian = syntax === 'explicit-be';
  o = bigEndian ? out.writeUInt16BE(0x7fe0, o) : out.writeUInt16LE(0x7fe0, o);
  o = bigEndian ? out.writeUInt16BE(0x0010, o) : out.writeUInt16LE(0x0010, o);
  if (syntax !== 'implicit-le') {
    o += out.write('OW', o, 'latin1');
    o = out.writeUInt16LE(0, o);
  }
  o = bigEndian ? out.writeUInt32BE(pixelBytes, o) : out.writeUInt32LE(pixelBytes, o);
  // Writing PixelData ourselves keeps a 512x512 image to one typed-array fill instead of dcmjs per-value work.
  fillPixels(new Uint16Array(out.buffer, out.byteOffset + o, pixelBytes / 2), spec, index);
  // The typed array wrote host order; OW words are stored in the transfer syntax's byte order.
  if ((endianness() === 'BE') !== bigEndian) out.subarray(o).swap16();
  return out;
}
