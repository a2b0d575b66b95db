// Metadata endpoints: v4 getSeriesMetadata (POST, quoted CSV), v1 getSeriesMetaData, getSeriesSize, getSOPInstanceUIDs.
import { createHash } from 'node:crypto';
import { seriesExtras, sopInstanceUid, type SeriesSpec } from '../dicom/synthetic-series.js';
import { licenseUri, servedOrder } from './catalog.js';
import type { RouteContext } from './routes.js';

/** The 40 columns of v4 getSeriesMetadata, in order (docs/reference/nbia.md#series-metadata-v4). */
export const V4_METADATA_COLUMNS = [
  'PatientID', 'PatientName', 'PatientSex', 'EthnicGroup', 'Phantom', 'SpeciesCode', 'SpeciesDescription',
  'StudyInstanceUID', 'StudyDate', 'StudyDesc', 'AdmittingDiagnosisDescription', 'StudyID', 'PatientAge',
  'LongitudinalTemporalEventType', 'LongitudinalTemporalOffsetFromEvent', 'SeriesInstanceUID', 'Collection', 'Site',
  'Modality', 'ProtocolName', 'SeriesDate', 'SeriesDescription', 'BodyPartExamined', 'SeriesNumber',
  'AnnotationsFlag', 'Manufacturer', 'ManufacturerModelName', 'PixelSpacing(mm)-Row', 'SliceThickness(mm)',
  'SoftwareVersions', 'ImageCount', 'MaxSubmissionTimestamp', 'LicenseName', 'LicenseURI', 'DataDescriptionURI',
  'FileSize', 'ReleasedStatus', 'DateReleased', 'ThirdPartyAnalysis', 'Authorized',
] as const;

// Where the 2025 titles differ from the current names by more than spaces between words.
const RETITLED_2025: Partial<Record<(typeof V4_METADATA_COLUMNS)[number], string>> = {
  StudyDesc: 'Study Description',
  Collection: 'Project',
  'PixelSpacing(mm)-Row': 'Pixel Spacing(mm)- Row',
  DataDescriptionURI: 'Collection URI',
};

/**
 * The titles v4 getSeriesMetadata gave the same 40 columns, in the same order, from 2025-08-05 to 2025-08-29
 * (NBIA commit a067725b): spaced words, `Project` for Collection, `Collection URI` for DataDescriptionURI
 * (docs/reference/nbia.md#column-names).
 */
export const V4_SPACED_TITLES_2025: readonly string[] = V4_METADATA_COLUMNS.map((c) => RETITLED_2025[c] ?? c.replace(/([a-z])([A-Z])/g, '$1 $2'));

/** The columns of v1 getSeriesMetaData, in order; v1 has no PatientName (docs/reference/nbia.md#series-metadata-v1). */
export const V1_METADATA_COLUMNS = [
  'Series UID', 'Collection', '3rd Party Analysis', 'Data Description URI', 'Subject ID', 'Study UID',
  'Study Description', 'Study Date', 'Series Description', 'Manufacturer', 'Modality', 'SOP Class UID',
  'Number of Images', 'File Size', 'File Location', 'Series Number', 'License Name', 'License URL',
  'Annotation Size', 'Date Released', 'Series Date', 'Protocol Name', 'Body Part Examined', 'Annotations Flag',
  'Manufacturer Model Name', 'Software Versions', 'TimeStamp',
] as const;

type V4Row = Record<(typeof V4_METADATA_COLUMNS)[number], string>;
// null marks a database NULL, which the JSON output drops (jettison put(k, null), docs/reference/nbia.md#responses).
type V1Row = Record<(typeof V1_METADATA_COLUMNS)[number], string | null>;

/** 'YYYYMMDD' to NBIA's 'MM-DD-YYYY'. */
export function nbiaDate(yyyymmdd: string): string {
  return `${yyyymmdd.slice(4, 6)}-${yyyymmdd.slice(6, 8)}-${yyyymmdd.slice(0, 4)}`;
}

// Release bookkeeping is not in the reference; a fixed per-collection date keeps it deterministic.
function releaseDate(spec: SeriesSpec): string {
  const n = createHash('sha256').update(`release:${spec.collection}`).digest().readUInt16LE(0);
  return `20${20 + (n % 6)}${String(1 + (n % 12)).padStart(2, '0')}${String(1 + (n % 28)).padStart(2, '0')}`;
}

function dataDescriptionUri(spec: SeriesSpec): string {
  return `https://doi.org/10.7937/synthetic.${spec.collection.toLowerCase()}`;
}

/** One v4 metadata row. */
export function v4MetadataRow(spec: SeriesSpec, fileSize: number): V4Row {
  const extras = seriesExtras(spec);
  const released = releaseDate(spec);
  return {
    PatientID: spec.patientId,
    PatientName: spec.patientName,
    PatientSex: extras.patientSex,
    EthnicGroup: '',
    Phantom: 'NO',
    SpeciesCode: '337915000',
    SpeciesDescription: 'Homo sapiens',
    StudyInstanceUID: spec.studyUid,
    StudyDate: nbiaDate(spec.studyDate),
    StudyDesc: spec.studyDescription,
    AdmittingDiagnosisDescription: '',
    StudyID: '',
    PatientAge: '',
    LongitudinalTemporalEventType: '',
    LongitudinalTemporalOffsetFromEvent: '',
    SeriesInstanceUID: spec.seriesUid,
    Collection: spec.collection,
    Site: '',
    Modality: spec.modality,
    ProtocolName: '',
    SeriesDate: nbiaDate(spec.studyDate),
    SeriesDescription: spec.seriesDescription,
    BodyPartExamined: extras.bodyPartExamined,
    SeriesNumber: String(spec.seriesNumber ?? ''),
    AnnotationsFlag: spec.annotations ? '1' : '0',
    Manufacturer: extras.manufacturer,
    ManufacturerModelName: extras.manufacturerModelName,
    'PixelSpacing(mm)-Row': extras.pixelSpacing,
    'SliceThickness(mm)': extras.sliceThickness,
    SoftwareVersions: '',
    ImageCount: String(spec.imageCount),
    MaxSubmissionTimestamp: `${released.slice(0, 4)}-${released.slice(4, 6)}-${released.slice(6, 8)} 09:30:00.0`,
    LicenseName: spec.license,
    LicenseURI: licenseUri(spec.license),
    DataDescriptionURI: dataDescriptionUri(spec),
    FileSize: String(fileSize),
    ReleasedStatus: 'Released',
    DateReleased: nbiaDate(released),
    ThirdPartyAnalysis: 'NO',
    Authorized: 'Yes',
  };
}

// v1 reduces descriptions to [A-Za-z0-9 .-] (docs/reference/nbia.md#series-metadata-v1).
function cleanDescription(text: string): string {
  return text.replace(/[^A-Za-z0-9 .-]/g, '');
}

/** One v1 metadata row. */
export function v1MetadataRow(spec: SeriesSpec, fileSize: number): V1Row {
  const extras = seriesExtras(spec);
  const released = releaseDate(spec);
  return {
    'Series UID': spec.seriesUid,
    Collection: spec.collection,
    '3rd Party Analysis': null,
    'Data Description URI': dataDescriptionUri(spec),
    'Subject ID': spec.patientId,
    'Study UID': spec.studyUid,
    'Study Description': cleanDescription(spec.studyDescription),
    'Study Date': nbiaDate(spec.studyDate),
    'Series Description': cleanDescription(spec.seriesDescription),
    Manufacturer: extras.manufacturer,
    Modality: spec.modality,
    'SOP Class UID': extras.sopClassUid,
    'Number of Images': String(spec.imageCount),
    'File Size': String(fileSize),
    // The column is named File Location but carries the StudyID, which these series leave empty.
    'File Location': null,
    'Series Number': String(spec.seriesNumber ?? ''),
    'License Name': spec.license,
    'License URL': licenseUri(spec.license),
    'Annotation Size': null,
    'Date Released': nbiaDate(released),
    'Series Date': nbiaDate(spec.studyDate),
    'Protocol Name': null,
    'Body Part Examined': extras.bodyPartExamined,
    'Annotations Flag': spec.annotations ? 'true' : null,
    'Manufacturer Model Name': extras.manufacturerModelName,
    'Software Versions': null,
    TimeStamp: `${released.slice(0, 4)}-${released.slice(4, 6)}-${released.slice(6, 8)} 09:30:00.0`,
  };
}

/**
 * Quoted CSV as FormatOutput.toCsvQuoted writes it: every cell in double quotes, LF line ends, the header in `titles`
 * (default the column names). Each cell is written with its opening separator, `"` first and `","` after, but a NULL
 * cell is always written as `","`: harmless inside a row, while a NULL first cell unbalances the row's quotes.
 */
export function quotedCsv(columns: readonly string[], rows: Record<string, string | null>[], titles: readonly string[] = columns): string {
  const quote = (text: string): string => text.replace(/"/g, '""');
  const line = (cells: (string | null)[]): string =>
    cells.map((c, i) => (c === null ? '","' : `${i === 0 ? '"' : '","'}${quote(c)}`)).join('') + '"\n';
  return line([...titles]) + rows.map((r) => line(columns.map((c) => r[c] ?? null))).join('');
}

function withoutNulls(row: Record<string, string | null>): Record<string, string> {
  return Object.fromEntries(Object.entries(row).filter((e): e is [string, string] => e[1] !== null));
}

/** POST v4/getSeriesMetadata, form `list=uid1,uid2,…`. */
export function handleSeriesMetadataV4(ctx: RouteContext): void {
  const { ex, catalog } = ctx;
  const list = ctx.form?.get('list');
  if (list === null || list === undefined) {
    ex.text(400, 'A parameter, list, is required for this API call.');
    return;
  }
  const uids = [...new Set(list.split(',').map((u) => u.trim()).filter(Boolean))];
  ex.annotate({ listSize: uids.length });
  const rows: Record<string, string | null>[] = [];
  for (const uid of uids) {
    const spec = catalog.spec(uid);
    if (!spec) continue;
    const row: Record<string, string | null> = v4MetadataRow(spec, catalog.byteSize(spec));
    const nulled = ctx.faults.take('nullMetadataCell', { endpoint: `${ctx.version}/${ctx.name}`, seriesUids: [uid] });
    if (nulled) row[nulled.column] = null;
    rows.push(row);
  }
  if (ctx.form?.get('format') === 'json') {
    if (rows.length === 0) ex.empty();
    else ex.json(200, rows.map(withoutNulls));
    return;
  }
  const headers = { 'Content-Disposition': 'attachment; filename="SeriesMetaData.csv"' };
  if (rows.length === 0) ex.empty('text/csv', headers);
  else ex.send(200, quotedCsv(V4_METADATA_COLUMNS, rows, ctx.metadataTitles), 'text/csv', headers);
}

function requireUid(ctx: RouteContext, allowed: string[]): SeriesSpec | null | undefined {
  const { ex, version } = ctx;
  const extra = version === 'v4' ? Object.keys(ex.query).find((k) => !allowed.includes(k)) : undefined;
  if (extra !== undefined) {
    ex.text(400, `Invalid query parameter: '${extra}'. Allowed parameters are: [${allowed.join(', ')}]`);
    return null;
  }
  const uid = ex.query.SeriesInstanceUID;
  if (!uid) {
    ex.text(400, 'A parameter, SeriesInstanceUID, is required for this API call.');
    return null;
  }
  return ctx.catalog.spec(uid);
}

/** GET v1/getSeriesMetaData?SeriesInstanceUID=…[&format=csv]. */
export function handleSeriesMetaDataV1(ctx: RouteContext): void {
  const spec = requireUid(ctx, ['SeriesInstanceUID', 'format']);
  if (spec === null) return;
  if (spec === undefined) {
    // Unlike the other metadata calls, an unknown series here is 204 (V1_getSeriesMetaData).
    ctx.ex.head(204, {});
    ctx.ex.res.end();
    return;
  }
  const row = v1MetadataRow(spec, ctx.catalog.byteSize(spec));
  if (ctx.ex.query.format === 'csv') ctx.ex.send(200, quotedCsv(V1_METADATA_COLUMNS, [row]), 'text/csv');
  else ctx.ex.json(200, [withoutNulls(row)]);
}

/** GET getSeriesSize?SeriesInstanceUID=…; the code's field names, not the swagger's (docs/reference/nbia.md#other-endpoints). */
export function handleSeriesSize(ctx: RouteContext): void {
  const spec = requireUid(ctx, ['SeriesInstanceUID', 'format']);
  if (spec === null) return;
  if (spec === undefined) ctx.ex.empty();
  else ctx.ex.json(200, [{ TotalSizeInBytes: ctx.catalog.byteSize(spec), ObjectCount: spec.imageCount }]);
}

/** GET getSOPInstanceUIDs?SeriesInstanceUID=…, in the same database order getImage uses. */
export function handleSopInstanceUids(ctx: RouteContext): void {
  const spec = requireUid(ctx, ['SeriesInstanceUID', 'format']);
  if (spec === null) return;
  if (spec === undefined) ctx.ex.empty();
  else ctx.ex.json(200, servedOrder(spec).map((i) => ({ SOPInstanceUID: sopInstanceUid(spec, i) })));
}

/** GET getCollectionValues: every collection, `[{"Collection": name}]`; v4 allows only `format` (docs/reference/nbia.md#responses). */
export function handleCollectionValues(ctx: RouteContext): void {
  const extra = ctx.version === 'v4' ? Object.keys(ctx.ex.query).find((k) => k !== 'format') : undefined;
  if (extra !== undefined) ctx.ex.text(400, `Invalid query parameter: '${extra}'. Allowed parameters are: [format]`);
  else ctx.ex.json(200, ctx.catalog.collections().map((Collection) => ({ Collection })));
}
