import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import type { Logger } from '../log.js';
import type { Manifest } from '../manifest/types.js';
import type { XnatClient } from '../xnat/xnat-client.js';
import { reportCsv, sessionsCsv, type RunReport } from './report.js';

export const RESOURCE_ORIGINAL = 'MANIFEST_ORIGINAL';
export const RESOURCE_MODIFIED = 'MANIFEST_MODIFIED';
export const RESOURCE_LOGS = 'TCIA_IMPORT_LOGS';

/** `<manifest-base>-sessions.csv`: one stable name per manifest, so a rerun replaces it instead of adding another. */
export function sessionsFileName(manifestFileName: string): string {
  return `${basename(manifestFileName, extname(manifestFileName))}-sessions.csv`;
}

/** The original manifest and the series→session map, attached to the project. */
export async function uploadManifestRecords(xnat: XnatClient, project: string, manifest: Manifest, report: RunReport): Promise<void> {
  await xnat.putProjectFile(project, RESOURCE_ORIGINAL, manifest.fileName, manifest.bytes, 'text/plain');
  await xnat.putProjectFile(project, RESOURCE_MODIFIED, sessionsFileName(manifest.fileName), Buffer.from(await sessionsCsv(report)), 'text/csv');
}

/**
 * The run's log, then its report, under a folder per run so that earlier runs stay readable. This is done by the
 * tool itself because the Container Service uploads no outputs after a non-zero exit (docs/reference/xnat-records.md#outputs-after-a-failed-container).
 * The report goes last, and is sent even when the log could not be: `onProblem` hears of a failed upload first, so
 * the report's exit code says so. Throws when the report itself could not be attached.
 * Returns paths XNAT serves: the report's own file URI, and the resource's file listing. A folder URI is not one
 * of them: XNAT answers it 404 (docs/reference/xnat-records.md#resource-files-and-listings).
 */
export async function uploadRunRecords(
  xnat: XnatClient, project: string, report: RunReport, logPath: string | undefined, logger: Logger, onProblem: (what: string, error: unknown) => void,
): Promise<{ report: string; listing: string }> {
  const folder = report.runId;
  if (logPath) {
    const log = await readFile(logPath).catch(() => undefined);
    if (!log || log.length === 0) logger.warn('the JSON log file could not be read; it is not attached to the project');
    else await xnat.putProjectFile(project, RESOURCE_LOGS, `${folder}/run.log.jsonl`, log, 'application/x-ndjson').catch((error: unknown) => onProblem('the log', error));
  }
  await xnat.putProjectFile(project, RESOURCE_LOGS, `${folder}/report.csv`, Buffer.from(await reportCsv(report)), 'text/csv');
  await xnat.putProjectFile(project, RESOURCE_LOGS, `${folder}/report.json`, Buffer.from(`${JSON.stringify(report, null, 2)}\n`), 'application/json');
  const files = `/data/projects/${project}/resources/${RESOURCE_LOGS}/files`;
  return { report: `${files}/${folder}/report.csv`, listing: `${files}?format=html` };
}
