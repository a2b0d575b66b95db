// Which series the emulated NBIA knows, and the per-series facts every endpoint must agree on.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  makeInstance,
  seriesByteSize,
  seriesSpecFromUid,
  sopInstanceUid,
  type CollectionShape,
  type SeriesSpec,
} from '../dicom/synthetic-series.js';

/**
 * A series served from a folder of files exactly as they are (files made by another toolkit, say): every regular
 * file, in name order, is one instance. The metadata NBIA reports comes from the fields given, with defaults.
 */
export type DirectorySeries = Pick<SeriesSpec, 'seriesUid' | 'studyUid' | 'patientId'> & Partial<SeriesSpec> & { dir: string };

/** How the emulator decides which UIDs exist. */
export interface CatalogOptions {
  collection?: SeriesSpec[];
  /** Series served from folders; they are known on top of `collection` (or of the generated UIDs). */
  directories?: DirectorySeries[];
  unknownUids?: Iterable<string>;
  shape?: CollectionShape;
}

const LICENSE_URIS: Record<string, string> = {
  'CC BY 4.0': 'https://creativecommons.org/licenses/by/4.0/',
  'CC BY 3.0': 'https://creativecommons.org/licenses/by/3.0/',
  'CC BY-NC 4.0': 'https://creativecommons.org/licenses/by-nc/4.0/',
  'CC BY-NC 3.0': 'https://creativecommons.org/licenses/by-nc/3.0/',
};

/** The URL NBIA pairs with a licence name; unlisted names point at TCIA's usage-policy page. */
export function licenseUri(name: string): string {
  return LICENSE_URIS[name] ?? 'https://www.cancerimagingarchive.net/data-usage-policies-and-restrictions/';
}

/** Series lookup plus memoised sizes; generated specs are recomputed on demand because they are cheap. */
export class Catalog {
  private readonly fixed?: Map<string, SeriesSpec>;
  private readonly hidden: Set<string>;
  private readonly shape?: CollectionShape;
  private readonly sizes = new Map<string, number>();
  private readonly folders = new Map<string, { spec: SeriesSpec; files: Buffer[] }>();
  private bySop?: Map<string, { seriesUid: string; index: number }>;

  constructor(options: CatalogOptions) {
    this.fixed = options.collection && new Map(options.collection.map((s) => [s.seriesUid, s]));
    for (const series of options.directories ?? []) this.folders.set(series.seriesUid, readFolder(series));
    this.hidden = new Set(options.unknownUids ?? []);
    this.shape = options.shape;
  }

  /** The spec of a public series, or undefined when NBIA would refuse it. */
  spec(uid: string): SeriesSpec | undefined {
    if (this.hidden.has(uid)) return undefined;
    const folder = this.folders.get(uid);
    if (folder) return folder.spec;
    if (this.fixed) return this.fixed.get(uid);
    return seriesSpecFromUid(uid, this.shape);
  }

  /** Collection names, as getCollectionValues lists them. */
  collections(): string[] {
    const specs = this.fixed ? [...this.fixed.values()] : [seriesSpecFromUid('1.2.3.4', this.shape)];
    return [...new Set(specs.map((s) => s.collection))].sort();
  }

  /** Total bytes of the series' DICOM files. */
  byteSize(spec: SeriesSpec): number {
    const folder = this.folders.get(spec.seriesUid);
    if (folder) return folder.files.reduce((n, f) => n + f.length, 0);
    let size = this.sizes.get(spec.seriesUid);
    if (size === undefined) {
      size = seriesByteSize(spec);
      this.sizes.set(spec.seriesUid, size);
    }
    return size;
  }

  /**
   * Where a SOPInstanceUID sits: its series and index, searched over a fixed collection (a catalog made up from
   * any UID asked for cannot be searched).
   */
  locate(sopUid: string): { seriesUid: string; index: number } | undefined {
    if (!this.bySop && this.fixed) {
      this.bySop = new Map();
      for (const spec of this.fixed.values()) {
        for (let i = 0; i < spec.imageCount; i++) this.bySop.set(sopInstanceUid(spec, i), { seriesUid: spec.seriesUid, index: i });
      }
    }
    const found = this.bySop?.get(sopUid);
    return found && this.spec(found.seriesUid) ? found : undefined;
  }

  /** The exact bytes of one instance, as served before any fault. */
  instance(uid: string, index: number): Buffer {
    const spec = this.spec(uid);
    if (!spec) throw new Error(`Series ${uid} is not known to the NBIA emulator`);
    const folder = this.folders.get(uid);
    if (!folder) return makeInstance(spec, index);
    const file = folder.files[index];
    if (!file) throw new RangeError(`Series ${uid} has ${folder.files.length} files, not ${index + 1}`);
    return file;
  }
}

function readFolder(series: DirectorySeries): { spec: SeriesSpec; files: Buffer[] } {
  const names = readdirSync(series.dir, { withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name).sort();
  const { dir, ...given } = series;
  const spec: SeriesSpec = {
    patientName: '',
    studyDate: '20200101',
    studyDescription: '',
    seriesDescription: '',
    modality: 'OT',
    seriesNumber: 1,
    rows: 0,
    columns: 0,
    collection: 'FOLDER',
    license: 'CC BY 4.0',
    ...given,
    imageCount: names.length,
  };
  return { spec, files: names.map((name) => readFileSync(join(dir, name))) };
}

function seededRandom(seed: string): () => number {
  const h = createHash('sha256').update(seed).digest();
  let state = h.readUInt32LE(0) || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x100000000;
  };
}

/** A deterministic permutation of 0..n-1 that is never the identity when n > 1. */
export function shuffled(n: number, seed: string): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  const random = seededRandom(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  if (n > 1 && order.every((v, i) => v === i)) order.push(order.shift() as number);
  return order;
}

/** Instance indexes in the order getImage serves them: NBIA has no ORDER BY, so it is not slice order (docs/reference/nbia.md#getimage). */
export function servedOrder(spec: SeriesSpec): number[] {
  return shuffled(spec.imageCount, `order:${spec.seriesUid}`);
}

/** Default entry name of the k-th served file (0-based): `%08d` plus the stored extension (docs/reference/nbia.md#getimage). */
export function sequentialName(k: number): string {
  return `${String(k + 1).padStart(8, '0')}.dcm`;
}

/**
 * NewFileNames=Yes name of instance `index`: `<acquisition>-<instance>`, the instance part padded to the digit count
 * of the largest index (1-001 … 1-223, 1-01 … 1-50, 1-1 for a single image), per ImageDAO2Impl.setNewFileNames.
 */
export function newFileName(index: number, imageCount: number): string {
  return `1-${String(index + 1).padStart(String(imageCount).length, '0')}.dcm`;
}

/** The LICENSE entry NBIA puts first in every getImage zip. */
export function licenseText(spec: SeriesSpec): string {
  return (
    `${spec.collection} is licensed under ${spec.license}.\n` +
    `License URL: ${licenseUri(spec.license)}\n` +
    'Users must abide by the TCIA Data Usage Policy and the license of the collection.\n'
  );
}
