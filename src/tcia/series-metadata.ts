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

/** Maps a v4 getSeriesMetadata CSV row. */
export function fromV4Row(row: Record<string, string>): SeriesMetadata | undefined {
  const seriesUid = (row.SeriesInstanceUID ?? '').trim();
  if (!seriesUid) return undefined;
  return {
    seriesUid,
    studyUid: (row.StudyInstanceUID ?? '').trim(),
    patientId: (row.PatientID ?? '').trim(),
    patientName: row.PatientName ?? '',
    studyDate: isoDate(row.StudyDate),
    modality: (row.Modality ?? '').trim(),
    seriesNumber: (row.SeriesNumber ?? '').trim(),
    seriesDescription: (row.SeriesDescription ?? '').trim(),
    imageCount: toCount(row.ImageCount),
    fileSize: toCount(row.FileSize),
    collection: (row.Collection ?? '').trim(),
    license: (row.LicenseName ?? '').trim(),
    licenseUri: (row.LicenseURI ?? '').trim(),
    dataDescriptionUri: (row.DataDescriptionURI ?? '').trim(),
    annotations: isFlagSet(row.AnnotationsFlag),
  };
}

/** Maps a v1 getSeriesMetaData JSON object (spaced column names, string values). */
export function fromV1Row(row: Record<string, unknown>): SeriesMetadata | undefined {
  const get = (key: string): string => String(row[key] ?? '').trim();
  const seriesUid = get('Series UID');
  if (!seriesUid) return undefined;
  return {
    seriesUid,
    studyUid: get('Study UID'),
    patientId: get('Subject ID'),
    patientName: undefined,
    studyDate: isoDate(get('Study Date')),
    modality: get('Modality'),
    seriesNumber: get('Series Number'),
    seriesDescription: get('Series Description'),
    imageCount: toCount(row['Number of Images']),
    fileSize: toCount(row['File Size']),
    collection: get('Collection'),
    license: get('License Name'),
    licenseUri: get('License URL'),
    dataDescriptionUri: get('Data Description URI'),
    annotations: isFlagSet(get('Annotations Flag')),
  };
}
