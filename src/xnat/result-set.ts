/** Parsing of XNAT's JSON answers: ResultSet listings and XFT session documents. */

/** ResultSet rows; every value is a string (docs/reference/xnat-rest.md#conventions). */
export function resultSet(body: string): Record<string, string>[] {
  const parsed = JSON.parse(body) as { ResultSet?: { Result?: Record<string, unknown>[] } };
  return (parsed.ResultSet?.Result ?? []).map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v == null ? '' : String(v)])));
}

export interface XftItem {
  data_fields?: Record<string, unknown>;
  children?: { field?: string; items?: XftItem[] }[];
}

export function sessionDocument(body: string): XftItem | undefined {
  return (JSON.parse(body) as { items?: XftItem[] }).items?.[0];
}

export function scanItems(session: XftItem | undefined): XftItem[] {
  return (session?.children ?? []).filter((child) => child.field === 'scans/scan').flatMap((child) => child.items ?? []);
}

/**
 * XNAT's archive files a scan's DICOM under `DICOM` (primary imaging SOP classes) or `secondary` (the rest:
 * SEG, RTSTRUCT, SR, ...), per file, so one scan can hold both (docs/reference/xnat-rest.md#scan-resources).
 */
export const DICOM_RESOURCES = ['DICOM', 'secondary'] as const;

/** The DICOM file count of a scan as the document states it (both resources); undefined when it does not. */
export function dicomFileCount(scan: XftItem): number | undefined {
  const resources = (scan.children ?? []).filter((child) => child.field === 'file').flatMap((child) => child.items ?? []);
  const dicom = resources.filter((r) => DICOM_RESOURCES.some((label) => label.toLowerCase() === String(r.data_fields?.label ?? '').toLowerCase()));
  if (dicom.length === 0) return undefined;
  let total = 0;
  for (const resource of dicom) {
    const count = resource.data_fields?.file_count;
    if (count === undefined || count === '' || !Number.isSafeInteger(Number(count))) return undefined;
    total += Number(count);
  }
  return total;
}

export function pick(row: Record<string, string>, test: (key: string) => boolean): string | undefined {
  const key = Object.keys(row).find(test);
  return key === undefined ? undefined : row[key];
}

export function withDataPrefix(uri: string): string {
  return uri.startsWith('/data/') ? uri : `/data${uri.startsWith('/') ? '' : '/'}${uri}`;
}

export function stripOrigin(uri: string): string {
  return uri.replace(/^https?:\/\/[^/]+/, '');
}
