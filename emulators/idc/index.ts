// Public surface of the IDC emulator: the index parquet and an S3-compatible server for the same synthetic series as NBIA's.
export { startIdcEmulator, type IdcEmulator, type IdcEmulatorOptions, type IdcRequestRecord } from './server.js';
export {
  DEFAULT_PART_SIZE,
  IDC_BUCKETS,
  INDEX_BUCKET,
  INDEX_KEY,
  IdcCatalog,
  defaultBucketFor,
  s3Etag,
  seriesUuidFor,
  uuidFromSeed,
  type IdcObjectInfo,
  type IdcSeriesEntry,
} from './catalog.js';
export { INDEX_COLUMNS, INDEX_LAYOUTS, idcCollectionId, indexParquetFor, indexRow, writeIndexParquet, type IdcIndexRow, type IndexWriteOptions, type IndexWriter } from './index-parquet.js';
export { IdcFaults, type IdcFaultKind, type IdcFaultSpec, type IdcFiredFault, type IdcRequestKind } from './faults.js';
export { parseRange } from './s3-routes.js';
