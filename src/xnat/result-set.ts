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

/** The file count of a scan's DICOM resource as the document states it; undefined when it does not. */
export function dicomFileCount(scan: XftItem): number | undefined {
  const resources = (scan.children ?? []).filter((child) => child.field === 'file').flatMap((child) => child.items ?? []);
  const dicom = resources.find((r) => String(r.data_fields?.label ?? '').toUpperCase() === 'DICOM');
  const count = dicom?.data_fields?.file_count;
  return count === undefined || count === '' ? undefined : Number(count);
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
