import type { XnatSession } from './session.js';
import { DICOM_RESOURCES, resultSet } from './result-set.js';

/**
 * The DICOM files of one scan (`scanPath` is its URI, archive or prearchive), one ResultSet row each: the rows of
 * its DICOM and its secondary resource together, a resource the scan does not have (404) giving none
 * (docs/reference/xnat-rest.md#scan-resources).
 */
export async function scanDicomFiles(xnat: XnatSession, scanPath: string): Promise<Record<string, string>[]> {
  const rows: Record<string, string>[] = [];
  for (const label of DICOM_RESOURCES) {
    const path = `${scanPath}/resources/${label}/files`;
    const response = await xnat.request('GET', path, { searchParams: { format: 'json' } });
    if (response.statusCode === 404) continue;
    if (response.statusCode !== 200) throw xnat.error(response, 'GET', path);
    rows.push(...resultSet(response.body));
  }
  return rows;
}
