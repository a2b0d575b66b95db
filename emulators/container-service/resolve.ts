/**
 * How the Container Service resolves a launch of this command (docs/reference/container-service.md#launch): wrapper
 * inputs against the project, command inputs and flags into the command line, mounts and environment, and the argv
 * the container backend then starts.
 */
import { asList, asString, matches, pickChildren, projectObject, type EmulatedProject, type Json, type XnatObject } from './xnat-objects.js';
import { ILLEGAL_INPUT_STRINGS, replacementKey } from './validate-command.js';

/** Values posted with a launch, by wrapper or command input name (the CS takes them all as strings). */
export type LaunchValues = Record<string, string | number | boolean | undefined>;

/** A mount of the resolved container. */
export interface ResolvedMount {
  name: string;
  containerPath: string;
  writable: boolean;
  /** The host directory an input provides; undefined for an output mount (a fresh build dir). */
  hostPath?: string;
}

/** What the CS hands to the container backend after resolving a launch. */
export interface ResolvedLaunch {
  commandName: string;
  wrapperName: string;
  image: string;
  commandLine: string;
  overrideEntrypoint: boolean;
  mounts: ResolvedMount[];
  /** The command's environment-variables, templated; the CS adds its own variables at launch. */
  environment: Record<string, string>;
  /** Resolved wrapper input values (XNAT objects resolve to their URI, CS-575; docs/reference/container-service.md#wrappers). */
  wrapperValues: Record<string, string | null>;
  /** Resolved command input values, before flags are applied. */
  commandValues: Record<string, string | null>;
}

/** A launch the CS would refuse, with its reason. */
export class ResolutionError extends Error {
  override name = 'ResolutionError';
}

interface WrapperValue {
  value: string | null;
  object?: XnatObject;
  candidates?: XnatObject[];
}

/**
 * Splits a command line into arguments the way the CS's ShellSplitter does for
 * override-entrypoint false (docs/reference/container-service.md#launch): whitespace separates, single and double quotes group, a
 * backslash escapes the next character except inside single quotes, and empty words vanish.
 */
export function shellSplit(line: string): string[] {
  const words: string[] = [];
  let current = '';
  let quote: '"' | "'" | undefined;
  let escaping = false;
  for (const ch of line) {
    if (escaping) {
      current += ch;
      escaping = false;
    } else if (ch === '\\' && quote !== "'") {
      escaping = true;
    } else if (quote !== undefined) {
      if (ch === quote) quote = undefined;
      else current += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
    } else if (/\s/.test(ch)) {
      if (current.length > 0) words.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  if (quote !== undefined) throw new ResolutionError(`unbalanced ${quote} in command line: ${line}`);
  if (current.length > 0) words.push(current);
  return words;
}

/** The CS refuses any value holding a shell separator (CommandResolutionService.ILLEGAL_INPUT_STRINGS). */
function checkLegal(name: string, value: string | null): void {
  for (const illegal of ILLEGAL_INPUT_STRINGS) {
    if (value?.includes(illegal)) throw new ResolutionError(`Input "${name}" has a value containing illegal string "${illegal}".`);
  }
}

function launchValue(launch: LaunchValues, name: string): string | undefined {
  const value = launch[name];
  return value === undefined ? undefined : String(value);
}

/** Replaces every replacement key in a template with its value (CS resolveTemplate). */
function fillTemplate(template: string, values: Map<string, string>): string {
  let out = template;
  for (const [key, value] of values) out = out.split(key).join(value);
  return out;
}

/**
 * Resolves a launch of `wrapperName` on `project` with the posted `launch` values, as the CS does:
 * external input, derived inputs in order, command inputs (default, then posted value, then the
 * value a wrapper input provides), command-line values with flags, and mounts.
 */
export function resolveLaunch(command: Json, wrapperName: string, launch: LaunchValues, project: EmulatedProject): ResolvedLaunch {
  const wrapper = asList(command.xnat).find((w) => w.name === wrapperName);
  if (!wrapper) throw new ResolutionError(`command "${String(command.name)}" has no wrapper "${wrapperName}"`);

  const wrapperValues = new Map<string, WrapperValue>();
  const wrapperInputs = new Map<string, Json>();
  const valueKeys = new Map<string, string>();

  for (const input of asList(wrapper['external-inputs'])) {
    const name = asString(input.name)!;
    wrapperInputs.set(name, input);
    if (input.type !== 'Project') throw new Error(`external input type ${String(input.type)} is not emulated`);
    const posted = launchValue(launch, name) ?? asString(input['default-value']);
    checkLegal(name, posted ?? null);
    // A value may be an ID or a URI; values starting with / resolve as /archive + value (docs/reference/container-service.md#launch).
    const id = posted?.replace(/^(\/archive)?\/projects\//, '');
    let entry: WrapperValue = { value: null };
    if (id !== undefined && id !== '') {
      if (id !== project.id) throw new ResolutionError(`Could not instantiate Project with value "${posted}".`);
      const object = projectObject(project);
      const matcher = asString(input.matcher);
      if (!matcher || matches(matcher, object)) entry = { value: object.uri, object };
    }
    wrapperValues.set(name, entry);
    valueKeys.set(replacementKey(input), entry.value ?? '');
  }

  for (const input of asList(wrapper['derived-inputs'])) {
    const name = asString(input.name)!;
    wrapperInputs.set(name, input);
    const parentName = asString(input['derived-from-wrapper-input'])!;
    const parent = wrapperValues.get(parentName);
    if (!parent) throw new ResolutionError(`Derived input "${name}" claims parent "${parentName}", but it is not earlier.`);
    const posted = launchValue(launch, name) ?? asString(input['default-value']);
    const matcher = asString(input.matcher);
    const property = asString(input['derived-from-xnat-object-property']);
    let entry: WrapperValue = { value: null };
    if (parent.object) {
      if (input.type === 'string' && property) {
        const value = parent.object[property];
        entry = { value: value === undefined || value === null ? null : String(value) };
      } else if (input.type === 'Resource') {
        const found = pickChildren(asList(parent.object.resources) as XnatObject[], matcher, posted, ['label', 'id', 'uri']);
        entry = found.length === 1 ? { value: found[0]!.uri, object: found[0] } : { value: null, candidates: found };
      } else if (input.type === 'File') {
        // A File is picked by its URI only (CommandResolutionServiceImpl: matchChildFromParent(…, "files", "uri", …)).
        const found = pickChildren(asList(parent.object.files) as XnatObject[], matcher, posted, ['uri']);
        entry = found.length === 1 ? { value: found[0]!.uri, object: found[0] } : { value: null, candidates: found };
      } else {
        throw new Error(`derived input type ${String(input.type)} is not emulated`);
      }
    }
    if (entry.candidates && entry.candidates.length > 1) {
      // The UI offers the choices; a launch that picks none cannot resolve (findResolvedValues).
      throw new ResolutionError(
        `Input "${name}" does not have a unique, resolved value and multiple = true is not set ` +
          `(candidates: ${entry.candidates.map((c) => String(c.name ?? c.label)).join(', ')}).`,
      );
    }
    checkLegal(name, entry.value);
    wrapperValues.set(name, entry);
    valueKeys.set(replacementKey(input), entry.value ?? '');
  }

  // External inputs default to required (Command.java:1528-1529); derived ones only when they say so.
  const externalNames = new Set(asList(wrapper['external-inputs']).map((input) => asString(input.name)));
  const missing = [...wrapperInputs]
    .filter(([name, input]) => (externalNames.has(name) ? input.required !== false : input.required === true))
    .filter(([name]) => wrapperValues.get(name)?.value == null)
    .map(([name]) => name);

  // Command inputs: default, then the posted value, then the value a wrapper input provides.
  const providers = new Map<string, string>();
  for (const [name, input] of wrapperInputs) {
    const target = asString(input['provides-value-for-command-input']);
    if (target) providers.set(target, name);
  }
  const commandValues: Record<string, string | null> = {};
  const lineValues = new Map<string, string>();
  for (const input of asList(command.inputs)) {
    const name = asString(input.name)!;
    let value: string | null = input['default-value'] === undefined ? null : String(input['default-value']);
    const posted = launchValue(launch, name);
    if (posted !== undefined) value = posted;
    const provider = providers.get(name);
    if (provider !== undefined) {
      const provided = wrapperValues.get(provider)?.value;
      if (provided !== undefined && provided !== null) value = provided;
    }
    if (input.type === 'boolean') {
      // Java's Boolean.parseBoolean: only "true" (any case) is true; true-/false-value replace it.
      const truthy = (value ?? '').toLowerCase() === 'true';
      const mapped = truthy ? input['true-value'] : input['false-value'];
      if (mapped !== undefined && mapped !== null) value = String(mapped);
    }
    checkLegal(name, value);
    if (input.required === true && (value === null || value === '')) missing.push(name);
    commandValues[name] = value;
    valueKeys.set(replacementKey(input), value ?? '');
    // A blank value puts nothing on the line, flag included; otherwise flag + separator + value.
    const flag = asString(input['command-line-flag']) ?? '';
    const separator = asString(input['command-line-separator']) ?? ' ';
    lineValues.set(replacementKey(input), !value ? '' : flag.trim() ? `${flag}${separator}${value}` : value);
  }
  if (missing.length > 0) throw new ResolutionError(`Missing values for required inputs: ${missing.join(', ')}.`);

  // Mounts: an input that provides files makes an input mount; any other is a fresh output mount.
  const mounts: ResolvedMount[] = asList(command.mounts).map((mount) => {
    const name = asString(mount.name)!;
    const feeder = [...wrapperInputs].find(([, input]) => input['provides-files-for-command-mount'] === name);
    const containerPath = asString(mount.path)!;
    if (!feeder) return { name, containerPath, writable: true };
    const object = wrapperValues.get(feeder[0])?.object;
    if (!object || typeof object.directory !== 'string') {
      throw new ResolutionError(`Mount "${name}" gets its files from "${feeder[0]}", which resolved to nothing.`);
    }
    return { name, containerPath, writable: mount.writable === true, hostPath: object.directory };
  });

  const environment: Record<string, string> = {};
  const env = command['environment-variables'];
  if (env && typeof env === 'object') {
    for (const [key, value] of Object.entries(env as Record<string, unknown>)) {
      environment[fillTemplate(key, valueKeys)] = fillTemplate(String(value), valueKeys);
    }
  }

  return {
    commandName: String(command.name),
    wrapperName,
    image: String(command.image),
    commandLine: fillTemplate(asString(command['command-line']) ?? '', lineValues),
    overrideEntrypoint: command['override-entrypoint'] === true,
    mounts,
    environment,
    wrapperValues: Object.fromEntries([...wrapperValues].map(([k, v]) => [k, v.value])),
    commandValues,
  };
}

/**
 * The argv of the container's first process, as the backend starts it (docs/reference/container-service.md#launch):
 * override-entrypoint true runs `/bin/sh -c <line>` with the entrypoint cleared; false passes the
 * shell-split line as arguments to the image's ENTRYPOINT, with no shell involved.
 */
export function containerArgv(resolved: ResolvedLaunch, entrypoint: string[]): string[] {
  return resolved.overrideEntrypoint ? ['/bin/sh', '-c', resolved.commandLine] : [...entrypoint, ...shellSplit(resolved.commandLine)];
}
