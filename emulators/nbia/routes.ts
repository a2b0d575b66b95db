// The NBIA route table: which endpoint names exist under /nbia-api/services/{v1,v4}/ and who answers them.
import type { Catalog } from './catalog.js';
import type { Exchange } from './exchange.js';
import type { NbiaFaults } from './faults.js';
import type { DescriptorShape } from './zip-writer.js';
import { handleImage, handleMd5ForImage, handleSingleImage } from './routes-image.js';
import {
  handleCollectionValues,
  handleSeriesMetaDataV1,
  handleSeriesMetadataV4,
  handleSeriesSize,
  handleSopInstanceUids,
} from './routes-metadata.js';

/** API version segment of the path. */
export type NbiaVersion = 'v1' | 'v4';

/** Everything a route handler needs for one request. */
export interface RouteContext {
  ex: Exchange;
  version: NbiaVersion;
  /** Endpoint name as in the path, e.g. 'getImage'. */
  name: string;
  catalog: Catalog;
  faults: NbiaFaults;
  bytesPerSecond?: number;
  deflateLevel: number;
  zipDescriptors: DescriptorShape;
  /** Where whole getImage bodies are stored and served from (NbiaEmulatorOptions.zipCacheDir). */
  zipCacheDir?: string;
  /** Header titles of v4 getSeriesMetadata's CSV (NbiaEmulatorOptions.v4MetadataTitles). */
  metadataTitles?: readonly string[];
  /** Parsed form body of POST routes. */
  form?: URLSearchParams;
}

/** One endpoint. */
export interface Route {
  method: 'GET' | 'POST';
  handle(ctx: RouteContext): void | Promise<void>;
}

const shared: Record<string, Route> = {
  getImage: { method: 'GET', handle: (ctx) => handleImage(ctx, false) },
  getImageWithMD5Hash: { method: 'GET', handle: (ctx) => handleImage(ctx, true) },
  getSeriesSize: { method: 'GET', handle: handleSeriesSize },
  getSOPInstanceUIDs: { method: 'GET', handle: handleSopInstanceUids },
  getSingleImage: { method: 'GET', handle: handleSingleImage },
  getCollectionValues: { method: 'GET', handle: handleCollectionValues },
};

/** Routes per version; names are case-sensitive, as in Jersey. */
export const ROUTES: Record<NbiaVersion, Record<string, Route>> = {
  v1: { ...shared, getSeriesMetaData: { method: 'GET', handle: handleSeriesMetaDataV1 } },
  v4: { ...shared, getSeriesMetadata: { method: 'POST', handle: handleSeriesMetadataV4 }, getMD5HashForImage: { method: 'GET', handle: handleMd5ForImage } },
};
