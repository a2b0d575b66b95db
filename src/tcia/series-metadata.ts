/** What the plan needs to know about one series, from NBIA's metadata endpoints. */
export interface SeriesMetadata {
  seriesUid: string;
  studyUid: string;
  patientId: string;
  /** undefined when the API did not say (v1 has no PatientName column); '' when it said "empty". */
  patientName?: string;
  /** ISO YYYY-MM-DD, or '' when unknown. */
  studyDate: string;
  modality: string;
  seriesNumber: string;
  seriesDescription: string;
  imageCount: number;
  fileSize: number;
  collection: string;
  license: string;
  licenseUri: string;
  /** The collection's data description, usually its DOI URL: what TCIA asks users to cite (docs/reference/xnat-records.md#licenses-and-citations). */
  dataDescriptionUri: string;
  /** TCIA holds annotation files for the series (its AnnotationsFlag); getImage serves its DICOM images only. */
  annotations?: boolean;
}

/** NBIA writes dates as MM-DD-YYYY (docs/reference/nbia.md#series-metadata-v4); some endpoints use YYYY-MM-DD or YYYYMMDD. */
export function isoDate(value: string | undefined): string {
  const text = (value ?? '').trim();
  let m = /^(\d{2})-(\d{2})-(\d{4})/.exec(text);
  if (m) return `${m[3]}-${m[1]}-${m[2]}`;
  // YYYYMMDD, YYYY-MM-DD, and the ACR-NEMA form YYYY.MM.DD that old files carry: as dcm4che reads a DA, any one
  // non-digit between the parts (docs/reference/dicom.md#dates).
  m = /^(\d{4})(\D?)(\d{2})\2(\d{2})/.exec(text);
  if (m) return `${m[1]}-${m[3]}-${m[4]}`;
  return '';
}

/** NBIA prints a boolean column as the database gives it: 1/0, true/false or YES/NO. */
function isFlagSet(value: string | undefined): boolean {
  return /^(?:1|true|yes|y)$/i.test((value ?? '').trim());
}

export function toCount(value: unknown): number {
  const n = Number(String(value ?? '').trim());
  return Number.isFinite(n) && n >= 0 ? Math.round(n) : 0;
}

/**
 * The column titles each field goes by, compared without case, spaces or punctuation, so the spaced titles v4 sent
 * from May to October 2025 match the current names; the others are v1's, the portal exports' and 2025's `Project`
 * and `Collection URI` (docs/reference/nbia.md#column-names).
 */
const TITLES = {
  seriesUid: ['SeriesInstanceUID', 'Series UID', 'Series ID'],
  studyUid: ['StudyInstanceUID', 'Study UID'],
  patientId: ['PatientID', 'Subject ID'],
  patientName: ['PatientName'],
  studyDate: ['StudyDate'],
  modality: ['Modality'],
  seriesNumber: ['SeriesNumber'],
  seriesDescription: ['SeriesDescription'],
  imageCount: ['ImageCount', 'Number of Images'],
  fileSize: ['FileSize', 'File Size (Bytes)'],
  collection: ['Collection', 'Collection Name', 'Project'],
  license: ['LicenseName'],
  licenseUri: ['LicenseURI', 'License URL'],
  dataDescriptionUri: ['DataDescriptionURI', 'Collection URI'],
  annotations: ['AnnotationsFlag'],
} as const;

type Field = keyof typeof TITLES;

/** A title as compared: `Series Instance UID`, `series_instance_uid` and `SeriesInstanceUID` are one. */
function titleKey(title: string): string {
  return title.toLowerCase().replace(/[^a-z0-9]/g, '');
}

const FIELD_BY_KEY = new Map<string, Field>(
  (Object.entries(TITLES) as [Field, readonly string[]][]).flatMap(([field, titles]) => titles.map((t) => [titleKey(t), field] as const)),
);

/** Maps one metadata row, v4 CSV or v1 JSON, whatever names its columns go by; undefined without a series UID. */
export function fromMetadataRow(row: Record<string, unknown>): SeriesMetadata | undefined {
  const cells = new Map<Field, string>();
  for (const [title, value] of Object.entries(row)) {
    const field = FIELD_BY_KEY.get(titleKey(title));
    if (field && !cells.has(field)) cells.set(field, value === null || value === undefined ? '' : String(value));
  }
  const get = (field: Field): string => (cells.get(field) ?? '').trim();
  const seriesUid = get('seriesUid');
  if (!seriesUid) return undefined;
  return {
    seriesUid,
    studyUid: get('studyUid'),
    patientId: get('patientId'),
    // v1 has no PatientName column: undefined sends the plan to a file's header for it.
    patientName: cells.get('patientName'),
    studyDate: isoDate(get('studyDate')),
    modality: get('modality'),
    seriesNumber: get('seriesNumber'),
    seriesDescription: get('seriesDescription'),
    imageCount: toCount(get('imageCount')),
    fileSize: toCount(get('fileSize')),
    collection: get('collection'),
    license: get('license'),
    licenseUri: get('licenseUri'),
    dataDescriptionUri: get('dataDescriptionUri'),
    annotations: isFlagSet(get('annotations')),
  };
}
