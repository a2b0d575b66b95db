import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const LATEST = 'latest';

/**
 * A sortable, unique run id: the UTC start time to the millisecond and a random suffix, e.g.
 * 20260701T101500123Z-1a2b3c4d. Milliseconds, because two runs started in the same second (a rejected manifest
 * right after a short import) would otherwise sort by their random suffixes.
 */
export function newRunId(at = new Date()): string {
  return `${at.toISOString().replace(/[-:.]/g, '')}-${randomUUID().slice(0, 8)}`;
}

/** `<output-dir>/<run id>/`, where everything a run writes locally goes, so no run overwrites another's records. */
export async function createRunFolder(outputDir: string, runId = newRunId()): Promise<{ runId: string; dir: string }> {
  const dir = join(outputDir, runId);
  await mkdir(dir, { recursive: true });
  return { runId, dir };
}

/**
 * Points `<output-dir>/latest` at a run's folder: a relative symlink, so `latest/report.csv` works in a shell and
 * a file browser and survives the folder being mounted elsewhere (a container's /output). Where the file system
 * has no symlinks (some network and FAT mounts), `latest` is instead a one-line file holding the run id.
 * Replaced atomically, so a reader never finds it missing.
 */
export async function pointLatest(outputDir: string, runId: string): Promise<'symlink' | 'file'> {
  const target = join(outputDir, LATEST);
  const temporary = join(outputDir, `.${LATEST}-${runId}`);
  try {
    await symlink(runId, temporary, 'dir');
    await rename(temporary, target);
    if ((await readlink(target)) === runId) return 'symlink';
  } catch {
    await rm(temporary, { force: true });
  }
  await writeFile(temporary, `${runId}\n`);
  await rm(target, { force: true, recursive: false }).catch(() => undefined);
  await rename(temporary, target);
  return 'file';
}

/** Why `dir` cannot take a run's records (an error code), after creating it if need be; undefined when it can. */
export async function outputDirProblem(dir: string): Promise<string | undefined> {
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
    return undefined;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? (error as Error).message;
  }
}
