import type { Readable } from 'node:stream';
import { SeriesContentError, XtdError } from '../errors.js';
import { nbiaZipSeries } from '../sources/nbia/zip-series.js';
import type { SourceFile, SourceSeries } from '../sources/types.js';
import type { DicomHeader } from './dicom-header.js';
import { OutgoingZip } from './outgoing-zip.js';
import { HOLD_LIMITS, relayDeflated, relayPlain, type FileRelay, type HoldLimits } from './relay-files.js';
import { asContentError, HeaderVerdicts, verifySeries, type FileDigest, type RelayStats, type SeriesExpectation } from './verification.js';

export type { RelayStats, SeriesExpectation } from './verification.js';

/** Starts the XNAT import with the outgoing zip as its body; called once, when the first DICOM file has been checked. */
export type StartUpload = (zip: Readable, first: DicomHeader, signal: AbortSignal) => Promise<string>;

export interface RelayHooks {
  /** DICOM bytes handed to the upload, counted once (progress). */
  onBytes?: (dicomBytes: number) => void;
  /** A verified file whose header could not be read; XNAT judges it. */
  onUnreadable?: (file: string) => void;
  /** Default HOLD_LIMITS; tests lower them to reach the streamed paths with small files. */
  holdLimits?: HoldLimits;
}

/**
 * Copies one series from its source into the zip XNAT imports, with nothing staged on disk: each file is hashed
 * and its header checked on the way through, and the outgoing zip is finished only after the source's check list
 * has confirmed every file. On any failure the upload is torn down mid-body, so XNAT sees a broken request rather
 * than a short but well-formed zip. `hooks` hear of bytes sent and of each verified file whose header could not be
 * read, which XNAT then judges.
 */
export async function relaySource(series: SourceSeries, expected: SeriesExpectation, startUpload: StartUpload, outer: AbortSignal, hooks: RelayHooks = {}): Promise<{ stats: RelayStats; uri: string }> {
  const controller = new AbortController();
  // Follows the run's signal without a listener on it, so any number of series can share that signal.
  const signal = AbortSignal.any([controller.signal, outer]);
  const zip = new OutgoingZip(signal, hooks.onBytes ?? ((): void => undefined));
  const verdicts = new HeaderVerdicts(expected);
  /** The first thing that went wrong; later errors (aborts, premature closes) are its consequences. */
  let firstError: unknown;
  const remember = (error: unknown): unknown => (firstError ??= error);
  const actual = new Map<string, FileDigest>();
  let upload: Promise<string> | undefined;
  const stats: RelayStats = { files: 0, bytes: 0, md5Verified: 0 };
  const uid = expected.seriesUid;
  const from = series.source === 'idc' ? 'IDC' : 'TCIA';
  /** How many files of this attempt went out under each SOPInstanceUID. */
  const sent = new Map<string, number>();
  /** Each file's SOPInstanceUID as its header gives it, for the source's check list. */
  const instances = new Map<string, string>();

  const relay: FileRelay = {
    uid,
    zip,
    signal,
    limits: hooks.holdLimits ?? HOLD_LIMITS,
    admit: (name, head, more) => {
      const header = verdicts.judge(name, head, more);
      // Broken off at once; the rest is still read and hashed so the verdict can wait for the list.
      if (verdicts.suspect) zip.breakOff(verdicts.suspect);
      if (!header) return undefined;
      if (header.sopInstanceUid) instances.set(name, header.sopInstanceUid);
      if (!upload) {
        upload = startUpload(zip.body, header, signal);
        upload.catch((error: unknown) => {
          // Once a header is suspect the upload was broken off on purpose; its failure is no news.
          if (!verdicts.suspect) controller.abort(remember(error));
        });
      }
      return outgoingName(sent, name, header);
    },
  };

  const relayFile = async (file: SourceFile): Promise<void> => {
    // Checked before any of its bytes go out: the list has one checksum per name, so a second file of the same
    // name could be sent unverified while the first one's digest vouched for the name.
    if (actual.has(file.name)) throw new SeriesContentError(`${from} sent two files named ${file.name}, and its checksum list has one line per name`, uid);
    const digest = file.deflated ? await relayDeflated(relay, file.name, file.deflated) : await relayPlain(relay, file.name, file.body, file.md5);
    actual.set(file.name, digest);
    stats.files += 1;
    stats.bytes += digest.size;
  };

  try {
    try {
      for await (const file of series.files(signal)) await relayFile(file);
    } catch (error) {
      remember(error);
      throw asContentError(firstError, uid, from);
    }
    const list = await series.checkList(instances);
    verifySeries(expected, actual, list, verdicts, stats);
    // Told before XNAT answers: its verdict on the file may well be the reason the series fails.
    for (const file of verdicts.unreadable) hooks.onUnreadable?.(file);
    if (!upload) throw new SeriesContentError(`${list.holder} holds no DICOM files`, uid, { retryable: true });
    await zip.releaseHeld();
    zip.finalize().catch((error: unknown) => controller.abort(remember(error)));
    const uri = await upload;
    // Also on success: a download read to its end is never destroyed by got, which keeps it (and its abort
    // listener, held by the run's signal) for the rest of the run otherwise, some 15 KB a series.
    series.close();
    return { stats, uri };
  } catch (error) {
    const cause = firstError !== undefined && !(error instanceof XtdError) ? asContentError(firstError, uid, from) : error;
    controller.abort(cause);
    zip.breakOff(isError(cause) ? cause : new Error(String(cause)));
    series.close();
    if (upload) await upload.catch(() => undefined);
    throw cause;
  }
}

/** One NBIA getImage zip through the relay (the stage tests and the bench feed it zips directly). */
export function relaySeries(download: Readable, expected: SeriesExpectation, startUpload: StartUpload, outer: AbortSignal, hooks: RelayHooks = {}): Promise<{ stats: RelayStats; uri: string }> {
  return relaySource(nbiaZipSeries(download, expected.seriesUid), expected, startUpload, outer, hooks);
}

/**
 * The name a file goes to XNAT under: its SOPInstanceUID, which every source and every attempt agree on. XNAT keeps a
 * scan's files by name and overwrites one only with the same instance (docs/reference/xnat-prearchive.md#file-names),
 * so an instance sent again, by a retry or by NBIA after IDC failed part-way, replaces its first copy instead of
 * joining it under a second name. A series holding one instance twice sends the second as `<uid>-2.dcm`: the same
 * names whatever the source and the order. The source's name stands in only when the header gives no usable UID.
 */
function outgoingName(sent: Map<string, number>, sourceName: string, header: DicomHeader): string {
  const uid = header.sopInstanceUid;
  if (!/^[0-9.]{1,64}$/.test(uid)) return sourceName;
  const copy = (sent.get(uid) ?? 0) + 1;
  sent.set(uid, copy);
  return copy === 1 ? `${uid}.dcm` : `${uid}-${copy}.dcm`;
}

/** instanceof fails across realms (Node's own AbortError in a test VM), so look at the shape. */
function isError(value: unknown): value is Error {
  return typeof value === 'object' && value !== null && 'message' in value;
}
