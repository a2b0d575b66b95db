import type { SourcesConfig } from '../config.js';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { RetryPolicy } from '../retry.js';
import type { NbiaClient } from '../tcia/nbia-client.js';
import { formatSize } from '../units.js';
import type { IdcIndexLookup } from './idc/index-reader.js';
import type { IdcS3Client } from './idc/s3-client.js';
import type { IdcListingCheck } from './idc/listing-check.js';
import { NbiaSource } from './nbia/zip-series.js';
import { SourceRouter } from './route.js';

/** Memory for IDC objects fetched ahead of their series' relay, across the whole run: with 64 MB a run peaked at 209 MB RSS. */
const AHEAD_BYTES = 24 * 1024 * 1024;

export interface RunSources {
  router: SourceRouter;
  /** The index lookup, when IDC is used and its index could be read. */
  lookup?: IdcIndexLookup;
  s3?: IdcS3Client;
  /** Series listings checked against the index's sizes; its warnings go into the report. */
  listingCheck?: IdcListingCheck;
}

export interface OpenSourcesDeps {
  nbia: NbiaClient;
  logger: Logger;
  retry: RetryPolicy;
  stallTimeoutMs: number;
  insecure: boolean;
  signal: AbortSignal;
}

/**
 * The run's sources, once: the IDC index is looked up for the manifest's UIDs (never with --source nbia). In auto
 * mode an index that cannot be read leaves everything to NBIA; with --source idc it stops the run.
 */
export async function openSources(config: SourcesConfig, uids: string[], deps: OpenSourcesDeps): Promise<RunSources> {
  const nbia = config.mode === 'idc' ? undefined : new NbiaSource(deps.nbia);
  if (config.mode === 'nbia') return { router: new SourceRouter('nbia', { nbia }) };
  // Loaded only now: the parquet reader, its decoders and S3's XML parser (about 90 files) are start-up work that an
  // NBIA-only run does not need.
  const [{ IdcSource }, { lookupIdcSeries }, { IdcLimiter }, { IdcS3Client }, { IdcListingCheck }] = await Promise.all([
    import('./idc/idc-source.js'),
    import('./idc/index-reader.js'),
    import('./idc/limiter.js'),
    import('./idc/s3-client.js'),
    import('./idc/listing-check.js'),
  ]);
  let lookup: IdcIndexLookup;
  try {
    lookup = await lookupIdcSeries(config.idcIndex, uids, { cacheDir: config.cacheDir, retry: deps.retry, insecure: deps.insecure, signal: deps.signal });
  } catch (error) {
    if (config.mode === 'idc' || deps.signal.aborted) throw error;
    deps.logger.warn(`the IDC index ${config.idcIndex} could not be read (${describeError(error)}); every series comes from NBIA`);
    return { router: new SourceRouter('nbia', { nbia }) };
  }
  const fetched = lookup.bytesFetched > 0 ? `, ${formatSize(lookup.bytesFetched)} fetched` : ', nothing fetched';
  deps.logger.info(`IDC index${lookup.etag ? ` ${lookup.etag}` : ''} (${lookup.rows} rows${fetched}): ${lookup.series.size} of ${new Set(uids).size} series in IDC`);
  const elsewhere = config.mode === 'auto' ? 'it comes from NBIA' : 'it cannot be fetched with --source idc';
  for (const uid of lookup.unlocated) deps.logger.warn({ series: uid }, `series ${uid}: IDC's index lists it without a series_aws_url, so where IDC keeps it is unknown; ${elsewhere}`);
  const listingCheck = new IdcListingCheck(lookup.series, deps.logger);
  const s3 = new IdcS3Client({
    endpoint: config.idcEndpoint, retry: deps.retry, stallTimeoutMs: deps.stallTimeoutMs, insecure: deps.insecure,
    onListed: (bucket, uuid, objects) => listingCheck.listed(bucket, uuid, objects),
  });
  const idc = new IdcSource({
    lookup: lookup.series, s3, limiter: new IdcLimiter(config.idcConnections, AHEAD_BYTES), retry: deps.retry,
    publishedMd5: (sop) => deps.nbia.publishedMd5(sop),
  });
  return { router: new SourceRouter(config.mode, { idc, nbia }, deps.logger), lookup, s3, listingCheck };
}
