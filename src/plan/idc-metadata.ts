import { ConnectionError, PeerAnswerError, PeerHttpError, TciaHttpError, describeError } from '../errors.js';
import { forEachLimit } from '../concurrency.js';
import type { Logger } from '../log.js';
import type { IdcSeriesLocation } from '../sources/idc/index-reader.js';
import type { IdcS3Client } from '../sources/idc/s3-client.js';
import type { SourceMode } from '../sources/route.js';
import type { NbiaClient } from '../tcia/nbia-client.js';
import { isoDate, type SeriesMetadata } from '../tcia/series-metadata.js';
import type { DicomHeader } from '../transfer/dicom-header.js';

export interface PlanMetadata {
  metadata: Map<string, SeriesMetadata>;
  /** Why a manifest UID missing from `metadata` is missing, when it is not that TCIA lacks it. */
  unknownReason?: string;
}

export interface PlanMetadataDeps {
  mode: SourceMode;
  nbia: Pick<NbiaClient, 'seriesMetadata'>;
  /** The run's IDC index lookup (empty with --source nbia). */
  idc: ReadonlyMap<string, IdcSeriesLocation>;
  s3?: IdcS3Client;
  /** Header reads at once. */
  connections: number;
  logger: Logger;
  signal: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

/**
 * The plan's metadata: NBIA's getSeriesMetadata when NBIA answers (and for --source nbia); otherwise, and with
 * --source idc, what IDC gives: its index for study and patient, the header of each study's first instance for
 * PatientName and StudyDate, so labels come out as an NBIA run's would. A series NBIA does not describe but IDC
 * holds is described from IDC too.
 */
export async function planMetadata(uids: string[], deps: PlanMetadataDeps): Promise<PlanMetadata> {
  if (deps.mode === 'nbia') return { metadata: await deps.nbia.seriesMetadata(uids, deps.onProgress) };
  let metadata = new Map<string, SeriesMetadata>();
  let unknownReason: string | undefined = deps.mode === 'idc' ? "IDC's index does not hold this series (--source idc); --source auto would fetch it from NBIA" : undefined;
  if (deps.mode === 'auto') {
    try {
      metadata = await deps.nbia.seriesMetadata(uids, deps.onProgress);
    } catch (error) {
      if (!isNbiaDown(error) || deps.idc.size === 0) throw error;
      deps.logger.warn(`NBIA's series metadata is unavailable (${describeError(error)}); reading labels from IDC for the ${deps.idc.size} series its index holds`);
      unknownReason = "NBIA did not answer and IDC's index does not hold this series";
    }
  }
  const fromIdc = uids.filter((uid) => !metadata.has(uid) && deps.idc.has(uid));
  for (const [uid, meta] of await idcSeriesMetadata(fromIdc, deps)) metadata.set(uid, meta);
  return { metadata, unknownReason };
}

/** NBIA could not be asked (down, refusing, answering pages): IDC can stand in. Anything else is not NBIA's outage. */
function isNbiaDown(error: unknown): boolean {
  return (error instanceof ConnectionError && error.peer === 'TCIA') || error instanceof TciaHttpError || (error instanceof PeerAnswerError && error.peer === 'TCIA');
}

/**
 * Metadata from IDC: one Range GET of a header per study (docs/reference/idc.md#header), the rest from the index.
 * A series whose objects IDC will not serve now (a stale entry, a refusal, SlowDown outlasting the retries) costs
 * only its own header: the study's next series is tried, and a study with none readable is labelled from the index
 * alone. Whether such a series can be fetched at all is the transfer's to find out, series by series.
 */
export async function idcSeriesMetadata(uids: string[], deps: Pick<PlanMetadataDeps, 'idc' | 's3' | 'connections' | 'signal' | 'logger'>): Promise<Map<string, SeriesMetadata>> {
  const byStudy = new Map<string, string[]>();
  for (const uid of uids) {
    const studyUid = deps.idc.get(uid)!.studyUid;
    const series = byStudy.get(studyUid);
    if (series) series.push(uid);
    else byStudy.set(studyUid, [uid]);
  }
  const headers = new Map<string, DicomHeader>();
  await forEachLimit([...byStudy.entries()], deps.connections, async ([studyUid, series]) => {
    if (!deps.s3) return;
    // The first series of the study whose bucket holds a readable instance (a stale entry lists nothing).
    let why = '';
    for (const uid of series) {
      const where = deps.idc.get(uid)!;
      try {
        const header = await deps.s3.readSeriesHeader(where.bucket, where.seriesUuid, deps.signal);
        if (header) {
          headers.set(studyUid, header);
          return;
        }
        why = `series ${uid}: no object listed, or its first is not readable DICOM`;
      } catch (error) {
        // IDC answered about this series' objects (NoSuchKey, AccessDenied, a 412, SlowDown after the retries): its
        // trouble. No answer at all (refused, unresolvable, TLS) is the endpoint's, which no other study escapes.
        if (!(error instanceof PeerHttpError && error.peer === 'IDC') || deps.signal.aborted) throw error;
        why = `series ${uid}: ${describeError(error)}`;
      }
    }
    deps.logger.warn({ study: studyUid }, `study ${studyUid}: no IDC file header to read labels from (${why}); its labels come from IDC's index alone (subject: the PatientID; no StudyDate)`);
  });
  const metadata = new Map<string, SeriesMetadata>();
  for (const uid of uids) {
    const where = deps.idc.get(uid)!;
    const header = headers.get(where.studyUid);
    metadata.set(uid, {
      seriesUid: uid,
      studyUid: where.studyUid,
      patientId: header?.patientId || where.patientId,
      // Without a readable header the plan labels the subject with the PatientID, as for an empty name.
      patientName: header?.patientName ?? '',
      studyDate: isoDate(header?.studyDate),
      modality: '',
      seriesNumber: '',
      seriesDescription: '',
      // Unknown until the series is listed; the relay then checks the files against IDC's listing.
      imageCount: 0,
      fileSize: Math.round(where.sizeMB * 1e6),
      collection: where.collection,
      license: '',
      licenseUri: '',
      dataDescriptionUri: '',
    });
  }
  return metadata;
}
