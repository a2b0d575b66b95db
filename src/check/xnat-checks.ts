/** XNAT: reachable, credentials, rights on the project, prearchive code, anonymization. */
import { ConnectionError, XnatAccountError, XnatHttpError, describeError } from '../errors.js';
import type { XnatClient } from '../xnat/xnat-client.js';
import { fail, ok, skip, warn, type CheckLine } from './checklist.js';
import { projectStanding, readOnlyReason } from './standing.js';
import { anonymizationEnabled, isSiteAdmin, loggedInUser, prearchiveCode, projectsClashingWith, siteSetting, xnatVersion } from './xnat-reads.js';

export interface XnatFindings {
  lines: CheckLine[];
  /** Set when the login worked, for the checks that need a session. */
  loggedIn: boolean;
  projectExists: boolean;
  /** The project's ID when `project` was an alias of it, else `project`. */
  projectId: string;
}

const PREARCHIVE_CODES: Record<number, string> = { 0: 'Manual', 4: 'AutoArchive', 5: 'AutoArchiveOverwrite' };

export async function checkXnat(xnat: XnatClient, project: string, user: string): Promise<XnatFindings> {
  const lines: CheckLine[] = [];
  try {
    await xnat.authenticate();
  } catch (error) {
    if (error instanceof XnatHttpError && (error.status === 401 || error.status === 403)) {
      lines.push(ok('XNAT', `answers at ${xnat.host}`));
      lines.push(fail('credentials', `XNAT rejected user '${user}' (${error.status})`, 'check XNAT_USER/XNAT_PASS; an alias token may have expired (2 days by default): issue a new one'));
    } else if (error instanceof XnatAccountError) {
      lines.push(ok('XNAT', `answers at ${xnat.host}`));
      lines.push(fail('credentials', error.message, error.hint ?? ''));
    } else {
      const fix = error instanceof ConnectionError ? 'fix XNAT_HOST or --xnat-host, or the network between here and XNAT' : 'see the message; is XNAT up?';
      lines.push(fail('XNAT', describeError(error), fix));
    }
    return { lines, loggedIn: false, projectExists: false, projectId: project };
  }

  const version = await xnatVersion(xnat);
  lines.push(ok('XNAT', `answers at ${xnat.host}${version ? `, version ${version}` : ' (version not reported)'}`));
  const username = (await loggedInUser(xnat)) ?? user;
  const token = username !== user ? ` (alias token of ${username})` : '';
  const admin = await isSiteAdmin(xnat, username);
  lines.push(ok('credentials', `logged in as ${username}${token}${admin ? ', a site administrator' : ''}`));

  const id = await xnat.projectId(project);
  if (id !== undefined && id !== project) lines.push(ok('project', `${project} is an alias of project ${id}; the import uses the ID`));
  lines.push(...(id !== undefined ? await existingProject(xnat, id, username, admin) : await newProject(xnat, project, admin === true)));
  lines.push(await anonymization(xnat, id));
  return { lines, loggedIn: true, projectExists: id !== undefined, projectId: id ?? project };
}

async function existingProject(xnat: XnatClient, project: string, username: string, admin: boolean | undefined): Promise<CheckLine[]> {
  const standing = await projectStanding(xnat, project, username, admin);
  const rights = (() => {
    if (standing.kind === 'unknown') return warn('rights', `project ${project} exists; ${standing.why}`, 'make sure you are an Owner or Member of the project');
    if (standing.kind === 'read-only') return fail('rights', `project ${project} exists, but ${readOnlyReason(standing.group)}: XNAT would refuse every commit`, `ask an owner of ${project} to make you a Member or Owner`);
    // Members may not delete scans (docs/reference/xnat-rest.md#project-group-rights), which a partial scan's replacement needs.
    const scans = standing.kind === 'editor' && standing.group === 'Members' ? '; replacing a partial scan XNAT already holds needs an Owner' : '';
    return ok('rights', `project ${project} exists; you can import and archive into it (${standing.kind === 'admin' ? (standing.dataAdmin ? 'site-wide data administrator' : 'site administrator') : standing.group})${scans}`);
  })();
  const code = await prearchiveCode(xnat, project);
  const prearchive = code === undefined
    ? skip('prearchive', `the prearchive code of ${project} is not reported`)
    : ok('prearchive', `code ${code} (${PREARCHIVE_CODES[code] ?? 'unknown'}); the tool commits each session itself, so nothing waits in the prearchive`);
  return [rights, prearchive];
}

async function newProject(xnat: XnatClient, project: string, admin: boolean): Promise<CheckLine[]> {
  const clashes = await projectsClashingWith(xnat, project);
  if (clashes && clashes.length > 0) {
    const named = clashes.join(', ');
    return [
      fail('rights', `project ${project} does not exist and cannot be created: XNAT refuses an ID that is another project's ID, name or running title, ignoring case (${named})`, `import into ${clashes[0]} with --project ${clashes[0]}, or choose another ID`),
      skip('prearchive', 'no project to read it from'),
    ];
  }
  const anyone = admin ? true : await siteSetting(xnat, 'uiAllowNonAdminProjectCreation');
  const rights = anyone === true
    ? ok('rights', `project ${project} does not exist (or you cannot see it); the import will create it`)
    : anyone === false
      ? fail('rights', `project ${project} does not exist and only administrators may create projects here`, `ask an administrator to create ${project} and make you an Owner or Member`)
      : warn('rights', `project ${project} does not exist; whether you may create it is not reported`, `create ${project} in XNAT first if the import cannot`);
  return [rights, skip('prearchive', 'a new project gets the site default; the tool commits each session itself either way')];
}

/** Scripts rewrite files on import unless the upload sends prevent_anon (docs/reference/readiness-check.md#anonymization). */
async function anonymization(xnat: XnatClient, project: string | undefined): Promise<CheckLine> {
  const site = await anonymizationEnabled(xnat);
  const own = project ? await anonymizationEnabled(xnat, project) : false;
  if (site === undefined && !own) return skip('anonymization', 'this XNAT does not report whether an anonymization script is enabled');
  const which = [site ? 'the site-wide' : '', own ? `project ${project}'s` : ''].filter(Boolean).join(' and ');
  if (!which) return ok('anonymization', 'no anonymization script is enabled: XNAT archives the bytes TCIA served');
  return warn(
    'anonymization',
    `${which} anonymization script is enabled: XNAT rewrites every DICOM file on import, so archived files will not match TCIA's bytes. ` +
      "The tool still checks every file against TCIA's MD5 and its headers before upload, and each archived scan's file count after commit",
    'disable the script for this project if the archive must hold TCIA\'s exact bytes',
  );
}
