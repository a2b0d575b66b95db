/**
 * The Container Service's command validation, re-stated as test code: validateCommand returns one
 * message per broken rule (an empty list means the CS would accept the command). Rules and their
 * sources are in docs/reference/container-service.md#command-json (schema and rejections).
 */

/** Input, output, wrapper-input and handler names (the COMMAND_NAME pattern, Command.java:67). */
export const NAME_PATTERN = /^[A-Za-z0-9_-]+$/;

const COMMAND_TYPES = ['docker', 'docker-setup', 'docker-wrapup'];
const COMMAND_INPUT_TYPES = ['string', 'boolean', 'number', 'select-one', 'select-many', 'file'];
const WRAPPER_INPUT_TYPES = [
  'string', 'boolean', 'number', 'Directory', 'File', 'File[]', 'Project', 'ProjectAsset', 'Subject',
  'SubjectAssessor', 'Session', 'Scan', 'Assessor', 'Resource', 'Config', 'file',
];
/** Only these wrapper input types can feed a mount (MOUNTABLE_TYPES). */
const MOUNTABLE_TYPES = ['Project', 'ProjectAsset', 'SubjectAssessor', 'Session', 'Scan', 'Assessor', 'Resource', 'File'];
const HANDLER_TYPES = ['Resource', 'Assessor', 'Scan'];
const VISIBILITIES = ['public', 'private', 'protected'];
const MULTIPLE_DELIMITERS = ['quoted-space', 'space', 'comma', 'flag'];
/** The CS rejects launches whose values contain these (CommandResolutionService.ILLEGAL_INPUT_STRINGS). */
export const ILLEGAL_INPUT_STRINGS = [';', '&&', '||', '`', '$('];
/** The CS injects these itself; secrets may not use them (docs/reference/container-service.md#environment). */
const RESERVED_ENV = ['XNAT_USER', 'XNAT_PASS', 'XNAT_HOST'];
/** The documented command-line limit (docs/command.md). */
export const COMMAND_LINE_LIMIT = 2048;

/**
 * Which object types a derived input may come from: the documented hierarchy
 * Project→Subject→Session→Scan/Assessor, any of those→Resource, plus Project→ProjectAsset and
 * Resource→File from the code (docs/reference/container-service.md#wrappers).
 */
const DERIVABLE_FROM: Record<string, string[]> = {
  Subject: ['Project', 'Session'],
  Session: ['Subject', 'Scan', 'Assessor'],
  Scan: ['Session'],
  Assessor: ['Session'],
  SubjectAssessor: ['Subject'],
  ProjectAsset: ['Project'],
  Project: ['Subject', 'Session', 'Scan', 'Assessor'],
  Resource: ['Project', 'Subject', 'Session', 'Scan', 'Assessor'],
  File: ['Resource'],
  'File[]': ['Resource'],
  Directory: ['Resource'],
};

/** Properties usable with derived-from-xnat-object-property, by parent type (docs/reference/container-service.md#wrappers). */
const OBJECT_PROPERTIES: Record<string, string[]> = {
  Project: ['id', 'label', 'xsiType', 'uri', 'directory'],
  Subject: ['id', 'label', 'xsiType', 'uri', 'directory'],
  Session: ['id', 'label', 'xsiType', 'uri', 'directory'],
  Scan: ['id', 'label', 'xsiType', 'uri', 'directory'],
  Assessor: ['id', 'label', 'xsiType', 'uri', 'directory'],
  Resource: ['id', 'label', 'xsiType', 'uri', 'directory', 'integer-id'],
  File: ['name', 'path', 'tags', 'format', 'content', 'size', 'checksum'],
};

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function list(value: unknown): Json[] {
  return Array.isArray(value) ? value.filter(isObject) : [];
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function blank(value: unknown): boolean {
  return typeof value !== 'string' || value.trim() === '';
}

/** The replacement key of an input: its own, or `#name#` by default (docs/reference/container-service.md#inputs). */
export function replacementKey(input: Json): string {
  return str(input['replacement-key']) ?? `#${str(input.name) ?? ''}#`;
}

/** Validates a parsed command.json against every Container Service rule this project relies on. */
export function validateCommand(command: unknown): string[] {
  const errors: string[] = [];
  const err = (message: string): void => {
    errors.push(message);
  };
  if (!isObject(command)) return ['the command is not a JSON object'];

  if (blank(command.name)) err('command name cannot be blank');
  if (str(command['schema-version']) !== '1.0') err('schema-version should be "1.0"');
  const type = str(command.type) ?? 'docker';
  if (!COMMAND_TYPES.includes(type)) err(`command type "${type}" is not one of ${COMMAND_TYPES.join(', ')}`);
  const image = str(command.image) ?? '';
  if (!image) err('image cannot be blank');
  // A tag is a ':' after the last '/', so a registry port (host:5000/img) is not mistaken for one.
  else if (!/:[^/:]+$/.test(image)) err(`image name must include version tag (got "${image}")`);
  const commandLine = str(command['command-line']) ?? '';
  if (commandLine.length > COMMAND_LINE_LIMIT) err(`command-line is longer than ${COMMAND_LINE_LIMIT} characters`);
  if (command['override-entrypoint'] !== undefined && typeof command['override-entrypoint'] !== 'boolean') {
    err('override-entrypoint must be a boolean');
  }
  const visibility = str(command.visibility);
  if (visibility !== undefined && !VISIBILITIES.includes(visibility)) err(`visibility "${visibility}" is not valid`);

  // Mounts: name and path required, names unique.
  const mounts = list(command.mounts);
  const mountNames = new Set<string>();
  for (const mount of mounts) {
    const name = str(mount.name);
    if (blank(name)) err('a mount has no name');
    else if (mountNames.has(name!)) err(`mount name "${name}" is not unique`);
    else mountNames.add(name!);
    if (blank(mount.path)) err(`mount "${name ?? '?'}" has no path`);
    if (mount.writable !== undefined && typeof mount.writable !== 'boolean') err(`mount "${name}" writable must be a boolean`);
  }

  // Environment variables and secrets.
  const env = isObject(command['environment-variables']) ? command['environment-variables'] : {};
  for (const secret of list(command.secrets)) {
    const destination = isObject(secret.destination) ? str(secret.destination.identifier) : undefined;
    if (destination && RESERVED_ENV.includes(destination)) err(`secret may not use the reserved name ${destination}`);
    if (destination && destination in env) err(`secret ${destination} shares a name with environment-variables`);
  }

  // Command inputs.
  const inputs = list(command.inputs);
  const inputsByName = new Map<string, Json>();
  for (const input of inputs) {
    const name = str(input.name) ?? '';
    if (!NAME_PATTERN.test(name)) err(`command input name "${name}" must match [A-Za-z0-9_-]`);
    if (inputsByName.has(name)) err(`command input name "${name}" is not unique`);
    inputsByName.set(name, input);
    const inputType = str(input.type) ?? 'string';
    if (!COMMAND_INPUT_TYPES.includes(inputType)) err(`command input "${name}" has unknown type "${inputType}"`);
    const isSelect = inputType.startsWith('select-');
    if (input['select-values'] !== undefined && !isSelect) {
      err(`command input "${name}" has select-values but type "${inputType}"; select-values are only for select-* types`);
    }
    if (isSelect) {
      const values = Array.isArray(input['select-values']) ? input['select-values'] : [];
      if (values.length === 0) err(`select input "${name}" has no select-values`);
      const def = str(input['default-value']);
      if (def !== undefined && inputType === 'select-one' && !values.includes(def)) {
        err(`select input "${name}" default "${def}" is not one of its select-values`);
      }
    }
    if (inputType === 'boolean' && input['default-value'] !== undefined) {
      if (!['true', 'false'].includes(String(input['default-value']).toLowerCase())) {
        err(`boolean input "${name}" default-value must be true or false`);
      }
    }
    if (inputType === 'number' && input['default-value'] !== undefined && !Number.isFinite(Number(input['default-value']))) {
      err(`number input "${name}" default-value is not a number`);
    }
    const delimiter = str(input['multiple-delimiter']);
    if (delimiter !== undefined && !MULTIPLE_DELIMITERS.includes(delimiter)) err(`input "${name}" multiple-delimiter is invalid`);
    const def = str(input['default-value']);
    for (const illegal of ILLEGAL_INPUT_STRINGS) {
      if (def?.includes(illegal)) err(`input "${name}" default-value contains the illegal string "${illegal}"`);
    }
  }

  // Outputs.
  const outputs = list(command.outputs);
  const outputNames = new Set<string>();
  for (const output of outputs) {
    const name = str(output.name) ?? '';
    if (!NAME_PATTERN.test(name)) err(`command output name "${name}" must match [A-Za-z0-9_-]`);
    if (outputNames.has(name)) err(`command output name "${name}" is not unique`);
    outputNames.add(name);
    const mount = str(output.mount);
    if (blank(mount) || !mountNames.has(mount!)) err(`command output "${name}" names mount "${mount ?? ''}", which is not declared`);
  }

  // Wrappers.
  const wrappers = list(command.xnat);
  const wrapperNames = new Set<string>();
  for (const wrapper of wrappers) {
    const wname = str(wrapper.name) ?? '';
    if (!NAME_PATTERN.test(wname)) err(`wrapper name "${wname}" must match [A-Za-z0-9_-]`);
    if (wrapperNames.has(wname)) err(`wrapper name "${wname}" is not unique`);
    wrapperNames.add(wname);
    const where = `wrapper "${wname}"`;
    // An old UI bug hid wrappers without a description (docs/reference/container-service.md#wrappers); the label is what the menu shows.
    if (blank(wrapper.description)) err(`${where} has no description`);
    if (blank(wrapper.label)) err(`${where} has no label`);
    const contexts = Array.isArray(wrapper.contexts) ? wrapper.contexts : [];
    if (contexts.length === 0) err(`${where} has no contexts`);

    const external = list(wrapper['external-inputs']);
    const derived = list(wrapper['derived-inputs']);
    // Only wrappers with exactly one external input appear in the Run Containers menu (docs/reference/container-service.md#wrappers).
    if (external.length !== 1) err(`${where} has ${external.length} external inputs; the UI needs exactly one`);

    const seen = new Map<string, Json>();
    const mountFeeders = new Map<string, string>();
    const valueFeeders = new Map<string, string>();
    const checkWrapperInput = (input: Json, kind: string): void => {
      const name = str(input.name) ?? '';
      if (!NAME_PATTERN.test(name)) err(`${where} ${kind} input name "${name}" must match [A-Za-z0-9_-]`);
      if (seen.has(name)) err(`${where} input name "${name}" is not unique`);
      const inputType = str(input.type) ?? '';
      if (!WRAPPER_INPUT_TYPES.includes(inputType)) err(`${where} input "${name}" has unknown type "${inputType}"`);
      const mount = str(input['provides-files-for-command-mount']);
      if (mount !== undefined) {
        if (!mountNames.has(mount)) err(`${where} input "${name}" provides files for undeclared mount "${mount}"`);
        if (!MOUNTABLE_TYPES.includes(inputType)) err(`${where} input "${name}" of type ${inputType} cannot feed a mount`);
        if (input.multiple === true) err(`${where} input "${name}" is multiple and cannot feed a mount`);
        const other = mountFeeders.get(mount);
        if (other !== undefined) err(`${where} mount "${mount}" is fed by both "${other}" and "${name}"`);
        mountFeeders.set(mount, name);
      }
      if (input['via-setup-command'] !== undefined && mount === undefined) {
        err(`${where} input "${name}" has via-setup-command but provides no files`);
      }
      const target = str(input['provides-value-for-command-input']);
      if (target !== undefined) {
        const commandInput = inputsByName.get(target);
        if (!commandInput) err(`${where} input "${name}" provides a value for unknown command input "${target}"`);
        else if ((str(commandInput.type) ?? 'string').startsWith('select-')) {
          err(`${where} input "${name}" feeds select-type command input "${target}"; a fed command input must not be a select type`);
        }
        const other = valueFeeders.get(target);
        if (other !== undefined) err(`${where} command input "${target}" is fed by both "${other}" and "${name}"`);
        valueFeeders.set(target, name);
      }
      if (input['select-values'] !== undefined && !inputType.startsWith('select-')) {
        err(`${where} input "${name}" has select-values but is not a select type`);
      }
      for (const illegal of ILLEGAL_INPUT_STRINGS) {
        if (str(input['default-value'])?.includes(illegal)) err(`${where} input "${name}" default contains "${illegal}"`);
      }
      seen.set(name, input);
    };

    for (const input of external) {
      checkWrapperInput(input, 'external');
      if (input['derived-from-wrapper-input'] !== undefined) err(`${where} external input "${str(input.name)}" cannot be derived`);
    }
    for (const input of derived) {
      const name = str(input.name) ?? '';
      const parentName = str(input['derived-from-wrapper-input']);
      // The parent must be an input declared earlier in the same wrapper (resolution walks in order).
      const parent = parentName === undefined ? undefined : seen.get(parentName);
      if (parentName === undefined) err(`${where} derived input "${name}" has no derived-from-wrapper-input`);
      else if (!parent) err(`${where} derived input "${name}" derives from "${parentName}", which is not an earlier input`);
      checkWrapperInput(input, 'derived');
      if (!parent) continue;
      const inputType = str(input.type) ?? '';
      const parentType = str(parent.type) ?? '';
      const property = str(input['derived-from-xnat-object-property']);
      if (property !== undefined) {
        const allowed = OBJECT_PROPERTIES[parentType];
        if (!allowed) err(`${where} input "${name}" reads property "${property}" of a ${parentType}, which has none`);
        else if (!allowed.includes(property)) err(`${where} input "${name}": a ${parentType} has no property "${property}"`);
        if (property === 'directory') {
          err(`${where} input "${name}" passes "directory", an XNAT-host path; use the mount path instead (docs/reference/container-service.md#mounts)`);
        }
      } else if (DERIVABLE_FROM[inputType] && !DERIVABLE_FROM[inputType]!.includes(parentType)) {
        err(`${where} input "${name}": a ${inputType} cannot be derived from a ${parentType}`);
      } else if (!DERIVABLE_FROM[inputType]) {
        err(`${where} input "${name}" of type ${inputType} needs derived-from-xnat-object-property`);
      }
      // A Project input with load-children false cannot derive child Resources (docs/reference/container-service.md#wrappers).
      if (inputType === 'Resource' && parent['load-children'] === false) {
        err(`${where} input "${name}" derives a Resource from "${parentName}", which has load-children false`);
      }
    }

    // Output handlers: every output handled in every wrapper; Resource handlers need a label.
    const handlers = list(wrapper['output-handlers']);
    const handled = new Set<string>();
    const handlerNames = new Set<string>();
    for (const handler of handlers) {
      const hname = str(handler.name) ?? '';
      if (!NAME_PATTERN.test(hname)) err(`${where} output handler name "${hname}" must match [A-Za-z0-9_-]`);
      if (handlerNames.has(hname)) err(`${where} output handler name "${hname}" is not unique`);
      const accepts = str(handler['accepts-command-output']) ?? '';
      if (!outputNames.has(accepts)) err(`${where} handler "${hname}" accepts unknown command output "${accepts}"`);
      handled.add(accepts);
      const parent = str(handler['as-a-child-of']) ?? str(handler['as-a-child-of-wrapper-input']);
      if (parent === undefined) err(`${where} handler "${hname}" has no as-a-child-of`);
      else if (!seen.has(parent) && !handlerNames.has(parent)) {
        err(`${where} handler "${hname}" is a child of "${parent}", which is neither a wrapper input nor an earlier handler`);
      } else if (seen.has(parent)) {
        const parentType = str(seen.get(parent)!.type) ?? '';
        if (['string', 'boolean', 'number', 'File', 'File[]', 'Directory', 'Config', 'file'].includes(parentType)) {
          err(`${where} handler "${hname}" cannot attach to "${parent}", a ${parentType}`);
        }
      }
      handlerNames.add(hname);
      const handlerType = str(handler.type) ?? 'Resource';
      if (!HANDLER_TYPES.includes(handlerType)) err(`${where} handler "${hname}" has unknown type "${handlerType}"`);
      if (handlerType === 'Resource' && blank(handler.label)) err(`${where} Resource handler "${hname}" has no label`);
    }
    for (const output of outputNames) {
      if (!handled.has(output)) err(`command output ${output} is not handled by any output handler in wrapper "${wname}"`);
    }
  }
  if (type === 'docker' && wrappers.length === 0) err('the command has no xnat wrappers, so it cannot be launched from XNAT');
  return errors;
}
