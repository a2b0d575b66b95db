/**
 * What a redirect in answer to the login means. XNAT sends a logged-in local user whose password has expired to
 * its change-password page, and an account disabled for inactivity to its inactive-account page; a proxy may send
 * http to https; anything else means the base URL is not XNAT's (docs/reference/xnat-rest.md#login-redirects).
 */
import { ConnectionError, XnatAccountError, type XtdError } from '../errors.js';

export function loginRedirectError(host: string, user: string, location: string): XtdError {
  let target: URL | undefined;
  try {
    target = new URL(location, host);
  } catch {
    target = undefined;
  }
  const page = target?.pathname ?? '';
  if (page.endsWith('/XDATScreen_UpdateUser.vm')) {
    return new XnatAccountError(`the XNAT password of user '${user}' has expired`, `change it in XNAT's web UI (${target!.origin}), then run again`);
  }
  if (page.endsWith('/InactiveAccount.vm')) {
    return new XnatAccountError(`XNAT account '${user}' is disabled (XNAT disables accounts unused for a long time)`, `reactivate it from XNAT's web UI (${target!.origin}) or ask an XNAT administrator`);
  }
  const base = new URL(host);
  if (target && base.protocol === 'http:' && target.protocol === 'https:' && target.hostname === base.hostname) {
    const https = `https://${target.host}${base.pathname.replace(/\/$/, '')}`;
    return new ConnectionError('XNAT', 'ERR_XNAT_HTTPS', `XNAT at ${host} redirects to https: use ${https}`, { hint: 'set XNAT_HOST or --xnat-host to it' });
  }
  return new ConnectionError('XNAT', 'ERR_NOT_XNAT', `no XNAT answers at ${host} (it redirects to ${target?.href ?? (location || 'nowhere')}); check the base URL (it is the address of the XNAT home page)`);
}
