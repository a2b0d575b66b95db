import { normaliseUrl } from '../config.js';

export const DEFAULT_TCIA_ROOT = 'https://nbia.cancerimagingarchive.net';

/**
 * The TCIA server root for a run: the user's choice, else the host of the manifest's downloadServerUrl.
 * Old manifests name public./services. hosts, which now live on nbia.; NLST keeps its own server, and asking
 * the main server for an NLST UID gives 400 (docs/reference/nbia.md#tcia-manifest, docs/reference/nbia.md#servers).
 */
export function resolveTciaRoot(explicit: string | undefined, downloadServerUrl: string | undefined): string {
  if (explicit) return explicit;
  if (!downloadServerUrl) return DEFAULT_TCIA_ROOT;
  let url: URL;
  try {
    url = new URL(downloadServerUrl);
  } catch {
    return DEFAULT_TCIA_ROOT;
  }
  const host = url.hostname.toLowerCase();
  if (host === 'public.cancerimagingarchive.net' || host === 'services.cancerimagingarchive.net') return DEFAULT_TCIA_ROOT;
  return normaliseUrl(`${url.protocol}//${url.host}`, 'downloadServerUrl');
}
