import { PeerAnswerError } from '../errors.js';
import type { XnatSession } from './session.js';

/**
 * Puts one file into a project resource, replacing any earlier copy. Without overwrite=true a duplicate is
 * not an error but a 200 with {"duplicates":[…]} and the old file kept (docs/reference/xnat-rest.md#project-resources).
 */
export async function putProjectFile(xnat: XnatSession, project: string, resource: string, fileName: string, body: Buffer, contentType: string): Promise<void> {
  const path = `/data/projects/${encodeURIComponent(project)}/resources/${encodeURIComponent(resource)}/files/${fileName.split('/').map(encodeURIComponent).join('/')}`;
  const response = await xnat.request('PUT', path, {
    searchParams: { inbody: 'true', overwrite: 'true', content: resource },
    headers: { 'content-type': contentType },
    body,
  });
  if (response.statusCode !== 200 && response.statusCode !== 201) throw xnat.error(response, 'PUT', path);
  if (/"duplicates"\s*:\s*\[\s*"/.test(response.body)) {
    throw new PeerAnswerError('XNAT', `XNAT kept an older ${resource}/${fileName} instead of replacing it`);
  }
}
