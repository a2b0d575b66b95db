/**
 * The read-only XNAT calls of the readiness check, each answering one question or undefined when this XNAT
 * does not say (an older version, or rights the caller lacks). Endpoints: docs/reference/readiness-check.md.
 */
import type { XnatClient } from '../xnat/xnat-client.js';

async function getJson(xnat: XnatClient, path: string): Promise<unknown> {
  const response = await xnat.request('GET', path, { headers: { accept: 'application/json' } });
  if (response.statusCode !== 200) return undefined;
  try {
    return JSON.parse(response.body) as unknown;
  } catch {
    return undefined;
  }
}

async function getText(xnat: XnatClient, path: string): Promise<string | undefined> {
  const response = await xnat.request('GET', path);
  return response.statusCode === 200 ? response.body.trim() : undefined;
}

/** `GET /xapi/siteConfig/buildInfo`: `{version, ...}` (docs/reference/readiness-check.md#version). */
export async function xnatVersion(xnat: XnatClient): Promise<string | undefined> {
  const info = await getJson(xnat, '/xapi/siteConfig/buildInfo');
  return typeof info === 'object' && info !== null && 'version' in info ? String((info as { version: unknown }).version) : undefined;
}

/** `GET /data/auth`: "User 'NAME' is logged in"; the real user name also when the login was an alias token (docs/reference/readiness-check.md#logged-in-user). */
export async function loggedInUser(xnat: XnatClient): Promise<string | undefined> {
  const text = await getText(xnat, '/data/auth');
  return text ? /User '(.+)' is logged in/.exec(text)?.[1] : undefined;
}

/** `GET /xapi/users/{name}/roles`: a list of site roles; "Administrator" is the site admin (docs/reference/readiness-check.md#site-roles). */
export async function isSiteAdmin(xnat: XnatClient, username: string): Promise<boolean | undefined> {
  const roles = await getJson(xnat, `/xapi/users/${encodeURIComponent(username)}/roles`);
  return Array.isArray(roles) ? roles.includes('Administrator') : undefined;
}

/**
 * `GET /xapi/users/{u}/groups`: every group the user is in, the site-wide ALL_DATA_ADMIN and ALL_DATA_ACCESS among
 * them, which neither the roles nor the project listing shows (docs/reference/readiness-check.md#rights-before-an-import).
 */
export async function userGroups(xnat: XnatClient, username: string): Promise<string[] | undefined> {
  const groups = await getJson(xnat, `/xapi/users/${encodeURIComponent(username)}/groups`);
  return Array.isArray(groups) && groups.every((g) => typeof g === 'string') ? (groups as string[]) : undefined;
}

/** `GET /xapi/access/projects`: the caller's group in each project (Owners, Members, Collaborators) (docs/reference/readiness-check.md#project-groups). */
export async function projectGroup(xnat: XnatClient, project: string): Promise<string | undefined> {
  const rows = await getJson(xnat, '/xapi/access/projects');
  if (!Array.isArray(rows)) return undefined;
  const row = (rows as Array<{ ID?: string; role?: string }>).find((r) => r.ID === project);
  return row?.role ?? '';
}

/** `GET /xapi/siteConfig/{name}` for a boolean setting any logged-in user may read (docs/reference/readiness-check.md#project-creation-setting). */
export async function siteSetting(xnat: XnatClient, name: string): Promise<boolean | undefined> {
  const value = await getJson(xnat, `/xapi/siteConfig/${name}`);
  return typeof value === 'boolean' ? value : value === 'true' ? true : value === 'false' ? false : undefined;
}

/** `GET /data/projects/{P}/prearchive_code`: 0 Manual, 4 AutoArchive, 5 AutoArchiveOverwrite (docs/reference/readiness-check.md#prearchive-code). */
export async function prearchiveCode(xnat: XnatClient, project: string): Promise<number | undefined> {
  const text = await getText(xnat, `/data/projects/${encodeURIComponent(project)}/prearchive_code`);
  return text !== undefined && /^\d+$/.test(text) ? Number(text) : undefined;
}

/** `GET /xapi/anonymize/site/enabled` and `/xapi/anonymize/projects/{P}/enabled`: JSON booleans (docs/reference/readiness-check.md#anonymization). */
export async function anonymizationEnabled(xnat: XnatClient, project?: string): Promise<boolean | undefined> {
  const path = project ? `/xapi/anonymize/projects/${encodeURIComponent(project)}/enabled` : '/xapi/anonymize/site/enabled';
  const value = await getJson(xnat, path);
  return typeof value === 'boolean' ? value : undefined;
}

export interface RegisteredCommand {
  id: number;
  version: string;
  wrappers: string[];
}

/** `GET /xapi/commands?name=N`: the Container Service's commands of that name; undefined when the plugin is absent (docs/reference/readiness-check.md#container-service-commands). */
export async function commandsNamed(xnat: XnatClient, name: string): Promise<RegisteredCommand[] | undefined> {
  const list = await getJson(xnat, `/xapi/commands?name=${encodeURIComponent(name)}`);
  if (!Array.isArray(list)) return undefined;
  return (list as Array<{ id: number; version?: string; xnat?: Array<{ name: string }> }>).map((c) => ({ id: c.id, version: c.version ?? '', wrappers: (c.xnat ?? []).map((w) => w.name) }));
}

/** `GET /xapi/projects/{P}/commands/{id}/wrappers/{w}/enabled`: enabled for the site and for the project (docs/reference/readiness-check.md#wrapper-enabled). */
export async function wrapperEnabled(xnat: XnatClient, project: string, commandId: number, wrapper: string): Promise<{ site: boolean; project: boolean } | undefined> {
  const report = await getJson(xnat, `/xapi/projects/${encodeURIComponent(project)}/commands/${commandId}/wrappers/${encodeURIComponent(wrapper)}/enabled`);
  if (typeof report !== 'object' || report === null) return undefined;
  const r = report as Record<string, unknown>;
  return { site: r['enabled-for-site'] === true, project: r['enabled-for-project'] === true };
}

/**
 * `GET /data/projects?format=json` (the projects this user can read, with `ID`, `secondary_ID` and `name`): the IDs
 * of those whose ID, name or running title equals `id` ignoring case, which XNAT's create refuses with 409 or 403
 * (docs/reference/readiness-check.md#project-clashes). Undefined when not listed.
 */
export async function projectsClashingWith(xnat: XnatClient, id: string): Promise<string[] | undefined> {
  const listing = await getJson(xnat, '/data/projects?format=json');
  const rows = (listing as { ResultSet?: { Result?: unknown } } | undefined)?.ResultSet?.Result;
  if (!Array.isArray(rows)) return undefined;
  const wanted = id.toUpperCase();
  return rows
    .filter((row: Record<string, unknown>) => ['ID', 'secondary_ID', 'name'].some((key) => String(row[key] ?? '').toUpperCase() === wanted))
    .map((row: Record<string, unknown>) => String(row.ID ?? ''));
}
