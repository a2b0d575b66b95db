import type { Readable } from 'node:stream';
import { PeerAnswerError, XtdError } from '../errors.js';
import { isSessionExpired, type XnatSession } from './session.js';

export interface ImportParams {
  project: string;
  subject: string;
  session: string;
  source: string;
}

/**
 * Streams one zip into the import service and returns the prearchive URI. DICOM-zip picks the archive format
 * from the file name, which XNAT derives from Content-Type: application/zip → upload.zip, while octet-stream
 * fails with "Unsupported format UNKNOWN" (docs/reference/xnat-rest.md#import-service, #dicom-zip).
 */
export async function importZip(xnat: XnatSession, params: ImportParams, body: Readable, signal: AbortSignal): Promise<string> {
  const path = '/data/services/import';
  const response = await xnat.sendOnce(path, {
    method: 'POST',
    searchParams: {
      'import-handler': 'DICOM-zip',
      PROJECT_ID: params.project,
      SUBJECT_ID: params.subject,
      EXPT_LABEL: params.session,
      overwrite: 'append',
      // Hold the session in the prearchive until we commit it, even on auto-archive projects (docs/reference/xnat-rest.md#auto-commit).
      prevent_auto_commit: 'true',
      SOURCE: params.source,
    },
    headers: { 'content-type': 'application/zip' },
    body,
    signal,
  });
  if (isSessionExpired(response)) {
    // The body cannot be sent again from here; the series is retried whole after a fresh login.
    xnat.forgetLogin();
    throw new XtdError('ERR_XNAT_SESSION_EXPIRED', `XNAT session expired during an import (answered ${response.statusCode})`, { retryable: true });
  }
  if (response.statusCode !== 200) throw xnat.error(response, 'POST', path);
  const uri = response.body.trim().split(/\r?\n/)[0] ?? '';
  if (uri === '') {
    // XNAT answers 200 with no URI when it kept none of the files: a site's series import filter or script dropped them all.
    throw new PeerAnswerError('XNAT', 'XNAT import kept no file of the series (it answered 200 with no session): a series import filter or script on this XNAT may have dropped them');
  }
  if (!uri.startsWith('/data/prearchive/') && !uri.startsWith('/data/archive/')) {
    throw new PeerAnswerError('XNAT', `XNAT import answered without a session URI: ${uri.slice(0, 200)}`);
  }
  return uri;
}
