/**
 * The user's standing in an existing project, from the readiness check's reads: whether XNAT would let them commit
 * (and delete scans), would refuse them, or does not say. Facts: docs/reference/readiness-check.md#rights-before-an-import.
 */
import { XtdError } from '../errors.js';
import type { Logger } from '../log.js';
import type { XnatClient } from '../xnat/xnat-client.js';
import { isSiteAdmin, loggedInUser, projectGroup, userGroups } from './xnat-reads.js';

export type Standing =
  /** A site administrator, or in the site-wide data admin group: every right on every project's data. */
  | { kind: 'admin'; dataAdmin?: boolean }
  /** Owners or Members: may import and commit; only Owners may delete scans. */
  | { kind: 'editor'; group: 'Owners' | 'Members' }
  /** Known to be neither admin nor Owner/Member: XNAT refuses every commit. `group` is '' for no group at all. */
  | { kind: 'read-only'; group: string }
  /** XNAT's answers do not tell. */
  | { kind: 'unknown'; why: string };

/** `admin` is what isSiteAdmin said, when the caller already asked. */
export async function projectStanding(xnat: XnatClient, project: string, username: string, admin?: boolean): Promise<Standing> {
  const isAdmin = admin ?? (await isSiteAdmin(xnat, username));
  if (isAdmin) return { kind: 'admin' };
  const group = await projectGroup(xnat, project);
  if (group === 'Owners' || group === 'Members') return { kind: 'editor', group };
  if (group === undefined) return { kind: 'unknown', why: 'this XNAT does not report your groups' };
  if (isAdmin === undefined) return { kind: 'unknown', why: 'this XNAT does not say whether you are a site administrator' };
  // A site may add groups of its own to a project, with rights the tool cannot see.
  if (group !== '' && group !== 'Collaborators') return { kind: 'unknown', why: `you are in its group ${group}, whose rights are not reported` };
  // The site-wide ALL_DATA_ADMIN group edits every project's data from outside its groups.
  const groups = await userGroups(xnat, username);
  if (groups === undefined) return { kind: 'unknown', why: 'this XNAT does not list your site-wide groups' };
  if (groups.includes('ALL_DATA_ADMIN')) return { kind: 'admin', dataAdmin: true };
  return { kind: 'read-only', group };
}

/** Why a read-only user cannot import, in one phrase. */
export function readOnlyReason(group: string): string {
  return group ? `you are in ${group}, which is read-only` : 'you can read it but are not a member';
}

/** Raised before anything is downloaded when XNAT would refuse every commit: exit code 2. */
export class RightsError extends XtdError {
  constructor(message: string, hint: string) {
    super('ERR_XNAT_RIGHTS', message, { hint });
  }
}

/**
 * Stops an import up front when the user is known to be unable to commit into the existing project: otherwise the
 * whole manifest travels and every commit answers 403. When XNAT's answers do not tell, the run goes on with a
 * warning; a dry run changes nothing, so there it is a warning too.
 */
export async function confirmImportRights(xnat: XnatClient, project: string, user: string, options: { logger: Logger; dryRun: boolean }): Promise<void> {
  const username = (await loggedInUser(xnat)) ?? user;
  const standing = await projectStanding(xnat, project, username);
  if (standing.kind === 'unknown') {
    options.logger.warn(`could not confirm that ${username} may archive into project ${project} (${standing.why}); going on: XNAT decides at commit`);
    return;
  }
  if (standing.kind !== 'read-only') return;
  const message = `${username} cannot import into project ${project}: ${readOnlyReason(standing.group)}, and XNAT refuses commits from anyone but its Owners, Members and site administrators`;
  const hint = `ask an Owner of ${project} to make ${username} a Member or Owner`;
  if (options.dryRun) options.logger.warn(`${message}; the import itself would stop here with exit 2 (${hint})`);
  else throw new RightsError(message, hint);
}
