// Public surface of the NBIA (TCIA) emulator.
export { startNbiaEmulator, type NbiaEmulator, type NbiaEmulatorOptions } from './server.js';
export { Catalog, type DirectorySeries, licenseText, licenseUri, newFileName, sequentialName, servedOrder, shuffled } from './catalog.js';
export type { RequestRecord } from './exchange.js';
export {
  NbiaFaults,
  OUTAGE_BODY,
  type BlankMd5Fault,
  type NullCellFault,
  tomcatErrorPage,
  type ByteFault,
  type CorruptFault,
  type FailFirstFault,
  type FaultKind,
  type FaultParams,
  type FaultScope,
  type FaultTarget,
  type FiredFault,
  type HtmlFault,
  type NbiaFaultSpec,
  type NonDicomFault,
} from './faults.js';
export { md5Csv, zipEntries, type ZipPlan } from './routes-image.js';
export {
  V1_METADATA_COLUMNS,
  V4_METADATA_COLUMNS,
  V4_SPACED_TITLES_2025,
  nbiaDate,
  quotedCsv,
  v1MetadataRow,
  v4MetadataRow,
} from './routes-metadata.js';
export type { NbiaVersion, RouteContext } from './routes.js';
export { javaBuffered, unsignedDescriptorZip, zipStream, type DescriptorShape, type UnsignedZipOptions, type ZipSource } from './zip-writer.js';
export * from '../dicom/synthetic-series.js';
