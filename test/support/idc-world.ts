import { buildCollection, type SeriesSpec } from '../../emulators/dicom/synthetic-series.js';
import { startIdcEmulator, type IdcEmulator, type IdcEmulatorOptions } from '../../emulators/idc/index.js';
import { startWorld, type World } from './world.js';

/** The usual world plus the IDC emulator, serving `inIdc` of the same synthetic collection NBIA serves whole. */
export interface IdcWorld extends World {
  idc: IdcEmulator;
  collection: SeriesSpec[];
}

export async function startIdcWorld(
  uids: string[],
  options: { inIdc?: string[]; idc?: Partial<IdcEmulatorOptions>; imagesPerSeries?: [number, number]; /** Rows and columns of each image; default 64. */ matrix?: number } = {},
): Promise<IdcWorld> {
  const matrix = options.matrix === undefined ? {} : { rows: options.matrix, columns: options.matrix };
  const collection = buildCollection(uids, { imagesPerSeries: options.imagesPerSeries ?? [4, 7], seriesPerStudy: 2, ...matrix });
  const wanted = new Set(options.inIdc ?? uids);
  const world = await startWorld({ nbia: { collection } });
  const idc = await startIdcEmulator({ collection: collection.filter((s) => wanted.has(s.seriesUid)), ...options.idc });
  // The default --source (auto), pointed at the emulator through the variables a user would set.
  delete world.env.XTD_SOURCE;
  Object.assign(world.env, { IDC_INDEX: idc.indexUrl, IDC_ENDPOINT: idc.url });
  return {
    ...world,
    idc,
    collection,
    close: async () => {
      await world.close();
      await idc.close();
    },
  };
}

/** Object GETs the IDC emulator answered (not listings, not the index). */
export function idcObjectGets(idc: IdcEmulator): number {
  return idc.requests.filter((r) => r.method === 'GET' && r.key !== '' && r.bucket !== 'idc-index-data-artifacts').length;
}
