/**
 * The bench's stored source bodies, built once before the measured runs: each collection's TCIA getImage zips, and
 * its IDC objects.
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { IDC_BUCKETS } from '../emulators/idc/index.js';
import { ObjectStore } from '../emulators/idc/object-store.js';
import { EmulatorProcess } from '../emulators/process.js';
import type { Dataset } from './bench-runs.js';

/**
 * Builds every getImage zip of `dataset` once, as the tool and the baseline ask for it, into a fresh folder under
 * `workDir`, and sets `dataset.zipStore`, so that measured runs are served stored zips. Returns how many and how
 * long it took. TCIA builds its zips on its own servers; an emulator that built them during the runs would take
 * most of this machine's cores from the tool and the baseline alike (in the benchmarks before, its CPU was three to
 * four times the tool's).
 */
export async function storeZips(dataset: Dataset, deflateLevel: number, workDir: string): Promise<string> {
  const started = Date.now();
  const dir = join(workDir, 'zip-store', `${dataset.name}-z${deflateLevel}`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const nbia = await EmulatorProcess.start({ kind: 'nbia', options: { collection: dataset.collection, deflateLevel, zipCacheDir: dir } });
  try {
    const queue = dataset.collection.map((s) => s.seriesUid);
    // Two at a time: one per core.
    const worker = async (): Promise<void> => {
      for (let uid = queue.shift(); uid; uid = queue.shift()) {
        const reply = await fetch(`${nbia.url}/nbia-api/services/v4/getImage?SeriesInstanceUID=${uid}&IncludeMD5=Yes`);
        if (!reply.ok) throw new Error(`the NBIA emulator answered ${reply.status} for ${uid}`);
        await reply.arrayBuffer();
      }
    };
    await Promise.all([worker(), worker()]);
  } finally {
    await nbia.close();
  }
  const stored = (await readdir(dir)).filter((f) => f.endsWith('.zip'));
  if (stored.length !== dataset.collection.length) throw new Error(`${stored.length} of ${dataset.collection.length} zips stored in ${dir}`);
  dataset.zipStore = dir;
  return `${stored.length} in ${((Date.now() - started) / 1000).toFixed(0)} s`;
}

/**
 * Builds every IDC object of `dataset` (its bytes and ETag) once into a fresh folder under `workDir`, and sets
 * `dataset.idcStore`, so that measured IDC runs are served stored objects: real IDC serves them from storage. Listing
 * a bucket makes the emulator build (and keep) every object in it.
 */
export async function storeIdcObjects(dataset: Dataset, workDir: string): Promise<string> {
  const started = Date.now();
  const dir = join(workDir, 'idc-store', dataset.name);
  await rm(dir, { recursive: true, force: true });
  const idc = await EmulatorProcess.start({ kind: 'idc', options: { collection: dataset.collection, objectCacheDir: dir } });
  try {
    for (const bucket of IDC_BUCKETS) {
      const reply = await fetch(`${idc.url}/${bucket}?list-type=2`);
      if (!reply.ok) throw new Error(`the IDC emulator answered ${reply.status} for a listing of ${bucket}`);
      await reply.arrayBuffer();
    }
  } finally {
    await idc.close();
  }
  const held = new ObjectStore(dir).holdings();
  if (held.objects !== dataset.images || held.bytes !== dataset.bytes) throw new Error(`${held.objects} of ${dataset.images} IDC objects (${held.bytes} of ${dataset.bytes} bytes) stored in ${dir}`);
  dataset.idcStore = dir;
  return `${held.objects} in ${((Date.now() - started) / 1000).toFixed(0)} s`;
}
