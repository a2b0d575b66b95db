import { AbortedError, describeError, isBug } from '../errors.js';
import type { Logger } from '../log.js';
import { forEachLimit } from '../concurrency.js';
import type { NbiaClient } from '../tcia/nbia-client.js';
import type { SeriesMetadata } from '../tcia/series-metadata.js';
import { readDicomHeader } from '../transfer/dicom-header.js';

/** Enough of a file for its header: PatientName sits in group 0010, long before any pixel data. */
export const HEADER_BYTES = 1024 * 1024;

export interface HeaderNameOptions {
  logger: Logger;
  /** Studies whose subject XNAT already fixes (docs/reference/xnat-rest.md#archive-conflicts): no header needed. */
  skipStudies?: ReadonlySet<string>;
  /** Studies read at once. */
  concurrency?: number;
  signal?: AbortSignal;
}

/**
 * NBIA's v1 metadata has no PatientName (docs/reference/nbia.md#series-metadata-v1), and the subject label is
 * made from it. So that the plan decides every label, this reads the header of one file per study (the first
 * SOPInstanceUID NBIA lists, docs/reference/nbia.md#single-files) and gives its PatientName to every series of
 * the study. A study whose header cannot be had keeps no name, and the plan labels its subject with the
 * PatientID, as it does for an empty name (README "Labels").
 */
export async function withHeaderNames(
  nbia: Pick<NbiaClient, 'sopInstanceUids' | 'fileHead'>,
  metadata: ReadonlyMap<string, SeriesMetadata>,
  options: HeaderNameOptions,
): Promise<Map<string, SeriesMetadata>> {
  const studies = new Map<string, SeriesMetadata[]>();
  for (const meta of metadata.values()) {
    if (meta.patientName !== undefined || options.skipStudies?.has(meta.studyUid)) continue;
    const series = studies.get(meta.studyUid);
    if (series) series.push(meta);
    else studies.set(meta.studyUid, [meta]);
  }
  const result = new Map(metadata);
  if (studies.size === 0) return result;
  options.logger.info(`reading PatientName from one file of each of ${studies.size} stud${studies.size === 1 ? 'y' : 'ies'} (TCIA's v1 metadata has none)`);
  await forEachLimit([...studies.values()], options.concurrency ?? 4, async (series) => {
    const name = await studyPatientName(nbia, series, options);
    if (name === undefined) return;
    for (const meta of series) result.set(meta.seriesUid, { ...meta, patientName: name });
  }, () => options.signal?.aborted ?? false);
  if (options.signal?.aborted) throw new AbortedError();
  return result;
}

/** The PatientName of the first readable header among the study's series, or undefined. */
async function studyPatientName(nbia: Pick<NbiaClient, 'sopInstanceUids' | 'fileHead'>, series: SeriesMetadata[], options: HeaderNameOptions): Promise<string | undefined> {
  const { studyUid, patientId } = series[0]!;
  let why = 'TCIA lists no file for it';
  for (const meta of series) {
    try {
      const [first] = await nbia.sopInstanceUids(meta.seriesUid);
      if (first === undefined) continue;
      const header = readDicomHeader(await nbia.fileHead(meta.seriesUid, first, HEADER_BYTES, options.signal));
      if (header) return header.patientName;
      why = `file ${first} of series ${meta.seriesUid} is not readable DICOM`;
    } catch (error) {
      if (isBug(error) || options.signal?.aborted) throw error;
      why = describeError(error);
    }
  }
  options.logger.warn({ study: studyUid }, `study ${studyUid}: no file header to read PatientName from (${why}); its subject label is the PatientID ${patientId}`);
  return undefined;
}
