import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  escapeDockerfileWord,
  labelValue,
  readCommandLabel,
  unescapeDockerfileWord,
  withCommandLabel,
} from '../../emulators/container-service/command-label.js';
import { dockerfileEntrypoint, readCommand, REPO_ROOT } from '../../emulators/container-service/launch.js';
import { COMMAND_LINE_LIMIT, replacementKey, validateCommand } from '../../emulators/container-service/validate-command.js';

const command = readCommand();
const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
const lock = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as { version: string };

type Json = Record<string, unknown>;
const clone = (): Json => JSON.parse(JSON.stringify(command)) as Json;
const wrapper = (c: Json): Json => (c.xnat as Json[])[0]!;
const derived = (c: Json, name: string): Json => (wrapper(c)['derived-inputs'] as Json[]).find((i) => i.name === name)!;
const input = (c: Json, name: string): Json => (c.inputs as Json[]).find((i) => i.name === name)!;
/** The command as a site would extend it with an output handler, for the rules about outputs. */
const withOutput = (c: Json): Json => {
  c.outputs = [{ name: 'logs', mount: 'logs-out', required: false }];
  wrapper(c)['output-handlers'] = [{ name: 'logs-resource', 'accepts-command-output': 'logs', 'as-a-child-of': 'project', type: 'Resource', label: 'LOGS' }];
  return c;
};
const handler = (c: Json): Json => (wrapper(withOutput(c))['output-handlers'] as Json[])[0]!;

describe('command.json', () => {
  it('passes every Container Service validation rule', () => {
    expect(validateCommand(command)).toEqual([]);
  });

  it('has one project-context wrapper with a single external input "project"', () => {
    const wrappers = command.xnat as Json[];
    expect(wrappers).toHaveLength(1);
    expect(wrappers[0]!.contexts).toEqual(['xnat:projectData']);
    expect((wrappers[0]!['external-inputs'] as Json[]).map((i) => [i.name, i.type])).toEqual([['project', 'Project']]);
  });

  it('mounts the TCIA resource read-only at /input and a writable /output that nothing uploads', () => {
    const mounts = command.mounts as Json[];
    const resource = derived(command, 'manifest_resource');
    const inputMount = mounts.find((m) => m.name === resource['provides-files-for-command-mount'])!;
    expect(resource.matcher).toBe("@.label == 'TCIA'");
    expect(inputMount).toMatchObject({ path: '/input', writable: false });
    expect(mounts.find((m) => m.path === '/output')).toMatchObject({ writable: true });
    // One mechanism writes TCIA_IMPORT_LOGS: the tool's own upload (docs/container.md, "Where the logs and the report land"). An output handler
    // would upload /output a second time after exit 0, and never after a failure.
    expect(command.outputs).toEqual([]);
    expect(wrapper(command)['output-handlers']).toEqual([]);
  });

  it('never puts credentials on the command line; the tool reads the injected environment', () => {
    const line = String(command['command-line']);
    expect(line).not.toMatch(/XNAT_(USER|PASS|HOST)|\$\{?[A-Z_]+/);
    expect(JSON.stringify(command.inputs)).not.toMatch(/pass(word)?/i);
  });

  it('uses every replacement key on the command line and no unknown one', () => {
    const line = String(command['command-line']);
    const keys = (command.inputs as Json[]).map(replacementKey);
    for (const key of keys) expect(line).toContain(key);
    const tokens = line.match(/#[A-Za-z0-9_-]+#/g) ?? [];
    for (const token of tokens) expect(keys).toContain(token);
    expect(line.length).toBeLessThanOrEqual(COMMAND_LINE_LIMIT);
  });

  it('feeds the target project after the launching project, so the optional override wins', () => {
    const line = String(command['command-line']);
    expect(input(command, 'target_project')['command-line-flag']).toBe('--project');
    expect(line.indexOf('--project #PROJECT_ID#')).toBeGreaterThanOrEqual(0);
    expect(line.indexOf('#TARGET_PROJECT#')).toBeGreaterThan(line.indexOf('--project #PROJECT_ID#'));
  });

  it('matches the Dockerfile entrypoint: override-entrypoint false hands the line to node /app/dist/cli.js', () => {
    expect(command['override-entrypoint']).toBe(false);
    // The image's node gets the flags the CLI's shebang gives node everywhere else.
    const shebang = /^#!\/usr\/bin\/env -S node((?: --[a-z-]+(?:=\S+)?)+)\n/.exec(readFileSync(join(REPO_ROOT, 'src', 'cli.ts'), 'utf8'));
    expect(shebang).not.toBeNull();
    expect(dockerfileEntrypoint(dockerfile)).toEqual(['node', ...shebang![1]!.trim().split(' '), '/app/dist/cli.js']);
    expect(String(command['command-line'])).toMatch(/^import /);
  });
});

describe('versions', () => {
  it('agree across package.json, package-lock.json, command.json version and image tag', () => {
    expect(command.version).toBe(pkg.version);
    // A site that pushes the image to its registry names it there (README "Install in XNAT"); the tag stays the version.
    expect(command.image).toMatch(new RegExp(`^([a-z0-9.-]+(:\\d+)?/)*xnat-tcia-download:${pkg.version.replace(/\./g, '\\.')}$`));
    expect(lock.version).toBe(pkg.version);
  });
});

describe('Dockerfile org.nrg.commands label', () => {
  it('parses back to exactly [command.json]', () => {
    const label = readCommandLabel(dockerfile);
    expect(label).toBeDefined();
    expect(JSON.parse(label!)).toEqual([command]);
  });

  it('is the last instruction, generated, and up to date', () => {
    expect(withCommandLabel(dockerfile, command)).toBe(dockerfile);
    const lines = dockerfile.trimEnd().split('\n');
    expect(lines[lines.length - 1]).toMatch(/^LABEL org\.nrg\.commands="\[/);
  });

  it('is replaced, never appended twice', () => {
    const once = withCommandLabel('FROM x\n', { name: 'a' });
    const twice = withCommandLabel(once, { name: 'b' });
    expect(twice.match(/org\.nrg\.commands/g)).toHaveLength(1);
    expect(JSON.parse(readCommandLabel(twice)!)).toEqual([{ name: 'b' }]);
    expect(withCommandLabel(twice, { name: 'b' })).toBe(twice);
  });

  it('escapes ", $ and \\ so the Dockerfile lexer hands the JSON back unchanged', () => {
    const tricky = { line: 'say "hi" $HOME \\ `x`', matcher: "@.name =~ /.*\\.tcia/i", nl: 'a\nb' };
    const word = escapeDockerfileWord(labelValue(tricky));
    expect(word).not.toMatch(/(^|[^\\])(\\\\)*[$"]/);
    expect(JSON.parse(unescapeDockerfileWord(word))).toEqual([tricky]);
  });
});

describe('validateCommand catches what the Container Service rejects', () => {
  const cases: Array<[string, (c: Json) => void, RegExp]> = [
    ['an image without a tag', (c) => (c.image = 'xnat-tcia-download'), /must include version tag/],
    ['a registry port mistaken for a tag', (c) => (c.image = 'registry:5000/xnat-tcia-download'), /must include version tag/],
    ['a bad input name', (c) => (input(c, 'dry_run').name = 'dry run'), /must match/],
    ['a bad handler name', (c) => (handler(c).name = 'logs.resource'), /must match/],
    ['an unhandled output', (c) => (wrapper(withOutput(c))['output-handlers'] = []), /not handled by any output handler/],
    ['a Resource handler without a label', (c) => delete handler(c).label, /has no label/],
    ['select-values on a string input', (c) => (input(c, 'target_project')['select-values'] = ['a']), /only for select/],
    ['a select input fed by a wrapper input', (c) => (input(c, 'manifest').type = 'select-one'), /must not be a select type/],
    ['a select default outside its values', (c) => (input(c, 'log_level')['default-value'] = 'loud'), /not one of its select-values/],
    ['an unknown input type', (c) => (input(c, 'target_project').type = 'text'), /unknown type "text"/],
    ['a duplicate mount name', (c) => ((c.mounts as Json[])[1]!.name = 'manifest-in'), /not unique/],
    ['an output on an undeclared mount', (c) => ((withOutput(c).outputs as Json[])[0]!.mount = 'nowhere'), /not declared/],
    ['two inputs feeding one mount', (c) => ((wrapper(c)['external-inputs'] as Json[])[0]!['provides-files-for-command-mount'] = 'manifest-in'), /fed by both/],
    ['a derived input before its parent', (c) => (wrapper(c)['derived-inputs'] as Json[]).reverse(), /not an earlier input/],
    ['two external inputs', (c) => (wrapper(c)['external-inputs'] as Json[]).push({ name: 'other', type: 'Project' }), /exactly one/],
    ['a wrapper without description', (c) => delete wrapper(c).description, /no description/],
    ['a File derived from a Project', (c) => (derived(c, 'manifest_file')['derived-from-wrapper-input'] = 'project'), /cannot be derived from a Project/],
    ['an unknown object property', (c) => (derived(c, 'project_id')['derived-from-xnat-object-property'] = 'name'), /has no property "name"/],
    ['the XNAT-host directory as a value', (c) => (derived(c, 'project_id')['derived-from-xnat-object-property'] = 'directory'), /XNAT-host path/],
    ['a Resource from a project without children', (c) => ((wrapper(c)['external-inputs'] as Json[])[0]!['load-children'] = false), /load-children false/],
    ['a value for an unknown command input', (c) => (derived(c, 'project_id')['provides-value-for-command-input'] = 'nope'), /unknown command input/],
    ['a non-boolean writable', (c) => ((c.mounts as Json[])[0]!.writable = 'false'), /writable must be a boolean/],
    ['a reserved secret name', (c) => (c.secrets = [{ source: { type: 'system-property', identifier: 'x' }, destination: { type: 'environment-variable', identifier: 'XNAT_PASS' } }]), /reserved name/],
    ['a too-long command line', (c) => (c['command-line'] = `${String(c['command-line'])} ${'x'.repeat(COMMAND_LINE_LIMIT)}`), /longer than/],
    ['a blank command name', (c) => (c.name = ' '), /cannot be blank/],
  ];
  it.each(cases)('%s', (_label, mutate, expected) => {
    const broken = clone();
    mutate(broken);
    const errors = validateCommand(broken);
    expect(errors.join('\n')).toMatch(expected);
  });
});
