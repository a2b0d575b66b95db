/** The output folder: writable, and room for the report and the log (the tool stages no image data on disk). */
import { access, statfs } from 'node:fs/promises';
import { constants } from 'node:fs';
import { dirname } from 'node:path';
import { fail, ok, warn, type CheckLine } from './checklist.js';

/** A run of 19,000 series writes a report and a log of a few tens of MB. */
const NEEDED_BYTES = 200e6;

/** The folder itself or, if it does not exist yet, the nearest parent that does (the import creates the rest). */
async function nearestExisting(dir: string): Promise<string> {
  for (let d = dir; ; d = dirname(d)) {
    try {
      await access(d);
      return d;
    } catch {
      if (dirname(d) === d) return d;
    }
  }
}

export async function checkDisk(outputDir: string): Promise<CheckLine> {
  const dir = await nearestExisting(outputDir);
  try {
    await access(dir, constants.W_OK);
  } catch {
    return fail('output folder', `${dir} is not writable`, 'pass --output-dir with a writable folder');
  }
  const stats = await statfs(dir);
  const free = stats.bavail * stats.bsize;
  const gb = `${(free / 1e9).toFixed(1)} GB free`;
  if (free < NEEDED_BYTES) return warn('output folder', `${outputDir}: only ${gb}`, 'free some space or pass another --output-dir; reports and logs need a few hundred MB at most');
  return ok('output folder', `${outputDir}: writable, ${gb} (images are streamed, never stored here)`);
}
