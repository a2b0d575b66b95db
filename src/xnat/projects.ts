import { XnatHttpError } from '../errors.js';
import { xnatErrorMessage } from './html-error.js';
import { sessionDocument } from './result-set.js';
import type { XnatSession } from './session.js';

/**
 * The project's ID, read from its document: `name` may be an alias, and XNAT keys the prearchive and its groups by ID
 * (docs/reference/xnat-rest.md#project-aliases). Undefined when XNAT shows no such project to this user.
 */
export async function projectId(xnat: XnatSession, name: string): Promise<string | undefined> {
  const response = await xnat.request('GET', `/data/projects/${encodeURIComponent(name)}`, { searchParams: { format: 'json' } });
  // XNAT answers 404 for a project the user cannot read as well as for a missing one (docs/reference/xnat-rest.md#permissions).
  if (response.statusCode === 404) return undefined;
  if (response.statusCode !== 200) throw xnat.error(response, 'GET', `/data/projects/${name}`);
  let id: unknown;
  try {
    id = sessionDocument(response.body)?.data_fields?.ID;
  } catch {
    id = undefined;
  }
  return typeof id === 'string' && id ? id : name;
}

/** A PUT of a new project that XNAT refused for the project's ID: the setup, not the run, must change. */
export function isProjectRefusal(error: unknown): boolean {
  return error instanceof XnatHttpError && error.method === 'PUT' && /^\/data\/projects\/[^/]+$/.test(error.url) && [403, 409, 417].includes(error.status);
}

export async function createProject(xnat: XnatSession, project: string): Promise<void> {
  const path = `/data/projects/${encodeURIComponent(project)}`;
  const response = await xnat.request('PUT', path, {
    searchParams: { name: project, secondary_ID: project, description: 'Imported from The Cancer Imaging Archive by xnat-tcia-download' },
  });
  if (response.statusCode === 200 || response.statusCode === 201) return;
  if (response.statusCode === 403) {
    throw new XnatHttpError(403, 'PUT', path, `user '${xnat.options.user}' may not create project ${project} (403)`, {
      // XNAT may answer a clash with another project's names 403 too (docs/reference/xnat-rest.md#projects).
      hint: `ask an XNAT administrator to create ${project} and make you an owner or member; if you may create projects, ${project} is the name, running title or alias of another project`,
    });
  }
  if (response.statusCode === 409) {
    throw new XnatHttpError(409, 'PUT', path, `XNAT will not create project ${project}: ${xnatErrorMessage(response.body)}`, {
      hint: `${project} is already the ID, name, running title or alias of that project (XNAT compares them ignoring case): import into it with --project <its ID>, or choose another ID`,
    });
  }
  if (response.statusCode === 417) {
    throw new XnatHttpError(417, 'PUT', path, `XNAT refused project ID ${project}: ${xnatErrorMessage(response.body)}`, { hint: 'use only letters, digits, _ and -' });
  }
  throw xnat.error(response, 'PUT', path);
}
