// The NBIA (TCIA) emulator: a real HTTP server on 127.0.0.1 serving the v1/v4 REST endpoints the importer uses.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CollectionShape, SeriesSpec } from '../dicom/synthetic-series.js';
import { Catalog, type DirectorySeries } from './catalog.js';
import { Exchange, type RequestRecord } from './exchange.js';
import { NbiaFaults } from './faults.js';
import { ROUTES, type NbiaVersion, type RouteContext } from './routes.js';
import type { DescriptorShape } from './zip-writer.js';

/** How to start the emulator; with no options every UID is a public series generated from its own UID. */
export interface NbiaEmulatorOptions {
  /** Loopback port to listen on; 0 (default) picks a free one. */
  port?: number;
  /** A fixed collection; any UID outside it is unknown (400). */
  collection?: SeriesSpec[];
  /** Series served from folders of files, byte for byte, on top of `collection` or the generated UIDs. */
  directories?: DirectorySeries[];
  /** UIDs that are "not public" (400), on top of `collection`. */
  unknownUids?: Iterable<string>;
  /** Shape of series generated for UIDs when there is no `collection`. */
  shape?: CollectionShape;
  /** Per-connection bandwidth cap for getImage bodies, modelling the WAN in benchmarks. */
  bytesPerSecond?: number;
  /**
   * Titles for v4 getSeriesMetadata's 40 CSV columns, in their order, standing for an NBIA release that named them
   * otherwise (V4_SPACED_TITLES_2025); default the current names, V4_METADATA_COLUMNS.
   */
  v4MetadataTitles?: readonly string[];
  /** Default true; false answers 404 on /v4/* so clients must fall back to v1. */
  v4?: boolean;
  /**
   * zlib level for zip entries, default 1. Level 1 runs at ~60 MB/s of 512x512 pixels per core (measured on the
   * 2-core CI box), so a CPU-bound benchmark may pass 0: still DEFLATE entries, but stored blocks.
   */
  deflateLevel?: number;
  /** Default 'signed', as NBIA's ZipOutputStream writes; 'unsigned' leaves the descriptors' optional signature out. */
  zipDescriptors?: DescriptorShape;
  /**
   * A folder for getImage bodies: each fault-free zip is stored the first time it is built and served from there
   * after, keyed by series UID, zip level and options, so one folder must serve one collection. Benchmarks use it
   * because TCIA builds its zips on its own servers, not on the machine that runs the tool.
   */
  zipCacheDir?: string;
}

/** A running emulator. */
export interface NbiaEmulator {
  /** 'http://127.0.0.1:<port>', the server root; the API is under /nbia-api/services/v4/ and /v1/. */
  url: string;
  requests: RequestRecord[];
  faults: NbiaFaults;
  spec(uid: string): SeriesSpec | undefined;
  /** The exact bytes served for instance `index` (before any fault). */
  instance(uid: string, index: number): Buffer;
  /** Stops the server and drops open connections; safe to call more than once. */
  close(): Promise<void>;
}

// All REST endpoints are mounted at /nbia-api/services/* (docs/reference/nbia.md#servers).
const API_PATH = /^\/nbia-api\/services\/(v1|v4)\/([A-Za-z0-9]+)\/?$/;

function seriesUidsOf(ctx: RouteContext): string[] {
  const list = ctx.form?.get('list');
  if (list) return list.split(',').map((u) => u.trim()).filter(Boolean);
  const uid = ctx.ex.query.SeriesInstanceUID;
  return uid ? [uid] : [];
}

/** Starts the emulator on an ephemeral loopback port. */
export async function startNbiaEmulator(options: NbiaEmulatorOptions = {}): Promise<NbiaEmulator> {
  const catalog = new Catalog(options);
  const faults = new NbiaFaults();
  const requests: RequestRecord[] = [];
  const v4 = options.v4 ?? true;

  async function handle(ex: Exchange): Promise<void> {
    const match = API_PATH.exec(ex.url.pathname);
    const version = match?.[1] as NbiaVersion | undefined;
    const name = match?.[2] ?? '';
    const route = version && (version === 'v1' || v4) ? ROUTES[version][name] : undefined;
    if (!version || !route) {
      ex.text(404, 'Not Found');
      return;
    }
    if (ex.req.method !== route.method) {
      ex.text(405, 'Method Not Allowed');
      return;
    }
    const ctx: RouteContext = {
      ex,
      version,
      name,
      catalog,
      faults,
      bytesPerSecond: options.bytesPerSecond,
      deflateLevel: options.deflateLevel ?? 1,
      zipDescriptors: options.zipDescriptors ?? 'signed',
      zipCacheDir: options.zipCacheDir,
      metadataTitles: options.v4MetadataTitles,
    };
    if (route.method === 'POST') ctx.form = new URLSearchParams(await ex.body());
    const failure = faults.take('failFirst', { endpoint: `${version}/${name}`, seriesUids: seriesUidsOf(ctx) });
    if (failure) {
      const headers = failure.retryAfter === undefined ? {} : { 'Retry-After': String(failure.retryAfter) };
      ex.send(failure.status, failure.body, failure.contentType, headers);
      return;
    }
    await route.handle(ctx);
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const ex = new Exchange(req, res, requests);
    handle(ex).catch((error: unknown) => {
      if (!res.headersSent) ex.text(500, `NBIA emulator error: ${String(error)}`);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    faults,
    spec: (uid) => catalog.spec(uid),
    instance: (uid, index) => catalog.instance(uid, index),
    close: () =>
      (closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Stalled downloads and keep-alive sockets would otherwise hold close() open forever.
        server.closeAllConnections();
      })),
  };
}
