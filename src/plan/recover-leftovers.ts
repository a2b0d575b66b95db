import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { SeriesMetadata } from '../tcia/series-metadata.js';
import type { XnatClient } from '../xnat/xnat-client.js';

export interface LeftoverOutcome {
  committed: string[];
  deleted: string[];
  busy: string[];
}

/**
 * Finds prearchive sessions an interrupted run of this tool left behind (its SOURCE tag, a StudyInstanceUID the
 * manifest lists) and settles them before planning. A session whose every scan holds all the files TCIA lists
 * for its series is committed: the transfer withholds each series' last file until the whole series has passed
 * its MD5 check, so a full scan is a verified one. Anything else is deleted, and planning sends its series again.
 */
export async function recoverLeftovers(
  xnat: XnatClient,
  project: string,
  source: string,
  metadata: ReadonlyMap<string, SeriesMetadata>,
  commit: (uri: string, archivePath: string) => Promise<string>,
  logger: Logger,
): Promise<LeftoverOutcome> {
  const outcome: LeftoverOutcome = { committed: [], deleted: [], busy: [] };
  const byStudy = new Map<string, SeriesMetadata[]>();
  for (const meta of metadata.values()) byStudy.set(meta.studyUid, [...(byStudy.get(meta.studyUid) ?? []), meta]);
  let listed;
  try {
    listed = await xnat.listPrearchive(project);
  } catch (error) {
    // Listing the prearchive needs more than read access (xnat-rest-api.md §5); without it there is nothing to settle.
    logger.warn(`cannot look for unfinished work in the prearchive: ${describeError(error)}`);
    return outcome;
  }
  const rows = listed.filter((row) => row.source === source && byStudy.has(row.tag));
  for (const row of rows) {
    const status = row.status.toUpperCase();
    if (!['READY', 'RECEIVING', 'ERROR', 'CONFLICT'].includes(status)) {
      // ARCHIVING, BUILDING, QUEUED_*: XNAT is still working on it; leave it be and let its series be planned as usual.
      logger.warn(`prearchive session ${row.uri} is ${row.status}; leaving it to XNAT`);
      outcome.busy.push(row.uri);
      continue;
    }
    try {
      const whole = status === 'READY' || status === 'RECEIVING' ? await isWhole(xnat, row.uri, byStudy.get(row.tag)!) : false;
      if (whole) {
        const archived = await commit(row.uri, `/data/archive/projects/${project}/subjects/${row.subject}/experiments/${row.name}`);
        logger.info(`committed ${row.name} left in the prearchive by an interrupted run: ${archived}`);
        outcome.committed.push(row.uri);
      } else {
        await xnat.deletePrearchive(row.uri);
        logger.info(`deleted incomplete prearchive session ${row.uri} left by an interrupted run; its series will be sent again`);
        outcome.deleted.push(row.uri);
      }
    } catch (error) {
      logger.warn(`could not settle prearchive session ${row.uri}: ${describeError(error)}; deleting it`);
      await xnat.deletePrearchive(row.uri).catch(() => undefined);
      outcome.deleted.push(row.uri);
    }
  }
  return outcome;
}

/** Every scan maps (by SeriesNumber, XNAT's scan ID) to exactly one series of the study and holds all its files. */
async function isWhole(xnat: XnatClient, uri: string, series: SeriesMetadata[]): Promise<boolean> {
  const scans = await xnat.prearchiveScans(uri);
  if (scans.length === 0) return false;
  return scans.every((scan) => {
    const matches = series.filter((s) => s.seriesNumber !== '' && String(Number(s.seriesNumber)) === scan.id);
    return matches.length === 1 && matches[0]!.imageCount > 0 && scan.fileCount === matches[0]!.imageCount;
  });
}
