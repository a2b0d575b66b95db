/**
 * The XNAT objects a Container Service launch resolves against, as the CS serialises them for its matchers and
 * property look-ups: a project, its resources and their files, and the JSONPath filters this command uses.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/** A project resource as XNAT mounts it: a directory holding the files and XNAT's `<label>_catalog.xml`. */
export interface EmulatedResource {
  label: string;
  directory: string;
}

/** The project a container is launched on. */
export interface EmulatedProject {
  id: string;
  resources: EmulatedResource[];
}

export type Json = Record<string, unknown>;

/** An XNAT object as the CS serialises it for matchers and property look-ups. */
export interface XnatObject extends Json {
  uri: string;
}

export function asList(value: unknown): Json[] {
  return Array.isArray(value) ? (value.filter((v) => typeof v === 'object' && v !== null) as Json[]) : [];
}

export function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/**
 * Evaluates the JSONPath filter expressions this command uses against one object:
 * `@.prop == 'text'`, `@.prop =~ /regex/flags` and their conjunction with `&&` (how the CS joins a
 * value matcher with an input's own matcher). Jayway's `=~` is Java's Pattern.matches(), a
 * whole-string match. Anything else throws, so a command.json change the harness cannot emulate
 * fails loudly instead of silently matching.
 */
export function matches(matcher: string, object: Json): boolean {
  return matcher.split('&&').every((clause) => {
    const text = clause.trim();
    const equality = /^@\.([A-Za-z_-]+)\s*==\s*(?:'([^']*)'|"([^"]*)")$/.exec(text);
    if (equality) return String(object[equality[1]!] ?? '') === (equality[2] ?? equality[3]);
    const regex = /^@\.([A-Za-z_-]+)\s*=~\s*\/(.*)\/([a-z]*)$/.exec(text);
    if (regex) {
      const flags = regex[3]!;
      if (/[^ims]/.test(flags)) throw new Error(`matcher flags "${flags}" are not emulated`);
      return new RegExp(`^(?:${regex[2]!})$`, flags).test(String(object[regex[1]!] ?? ''));
    }
    throw new Error(`matcher clause "${text}" is not emulated by this harness`);
  });
}

/** Lists a resource's files as the CS sees them: every file under the directory except XNAT's catalog. */
function resourceFiles(resource: EmulatedResource, uri: string): XnatObject[] {
  const files: XnatObject[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile() && !(dir === resource.directory && entry.name.endsWith('_catalog.xml'))) {
        const path = relative(resource.directory, full);
        files.push({ name: entry.name, path, uri: `${uri}/files/${path}`, size: statSync(full).size, tags: [], format: null, content: null });
      }
    }
  };
  walk(resource.directory);
  return files;
}

export function projectObject(project: EmulatedProject): XnatObject {
  const uri = `/archive/projects/${project.id}`;
  return {
    id: project.id,
    label: project.id,
    xsiType: 'xnat:projectData',
    uri,
    directory: `/data/xnat/archive/${project.id}/arc001`,
    resources: project.resources.map((resource, i): XnatObject => {
      const resourceUri = `${uri}/resources/${resource.label}`;
      return {
        id: String(i + 1),
        'integer-id': i + 1,
        label: resource.label,
        xsiType: 'xnat:resourceCatalog',
        uri: resourceUri,
        directory: resource.directory,
        files: resourceFiles(resource, resourceUri),
      };
    }),
  };
}

/** Picks the children matching the input's matcher and, if a value was posted, that value (by each key in turn). */
export function pickChildren(children: XnatObject[], matcher: string | undefined, value: string | undefined, keys: string[]): XnatObject[] {
  const matching = matcher ? children.filter((child) => matches(matcher, child)) : children;
  if (value === undefined || value === '') return matching;
  for (const key of keys) {
    const picked = matching.filter((child) => String(child[key]) === value);
    if (picked.length > 0) return picked;
  }
  return [];
}
