import { XnatHttpError } from '../errors.js';
import { xnatErrorMessage } from './html-error.js';
import type { XnatSession } from './session.js';

export async function projectExists(xnat: XnatSession, project: string): Promise<boolean> {
  const response = await xnat.request('GET', `/data/projects/${encodeURIComponent(project)}`, { searchParams: { format: 'json' } });
  if (response.statusCode === 200) return true;
  // XNAT answers 404 for a project the user cannot read as well as for a missing one (docs/reference/xnat-rest.md#permissions).
  if (response.statusCode === 404) return false;
  throw xnat.error(response, 'GET', `/data/projects/${project}`);
}

export async function createProject(xnat: XnatSession, project: string): Promise<void> {
  const path = `/data/projects/${encodeURIComponent(project)}`;
  const response = await xnat.request('PUT', path, {
    searchParams: { name: project, secondary_ID: project, description: 'Imported from The Cancer Imaging Archive by xnat-tcia-download' },
  });
  if (response.statusCode === 200 || response.statusCode === 201) return;
  if (response.statusCode === 403) {
    throw new XnatHttpError(403, 'PUT', path, `user '${xnat.options.user}' may not create project ${project} (403)`, {
      hint: `ask an XNAT administrator to create ${project} and make you an owner or member`,
    });
  }
  if (response.statusCode === 417) {
    throw new XnatHttpError(417, 'PUT', path, `XNAT refused project ID ${project}: ${xnatErrorMessage(response.body)}`, { hint: 'use only letters, digits, _ and -' });
  }
  throw xnat.error(response, 'PUT', path);
}
