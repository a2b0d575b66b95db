import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  containerArgv,
  disposeLaunch,
  launchLocally,
  localArgv,
  makeResourceDir,
  matches,
  readCommand,
  ResolutionError,
  resolveLaunch,
  shellSplit,
  type EmulatedProject,
  type LaunchValues,
} from '../../emulators/container-service/launch.js';

const command = readCommand();
const WRAPPER = 'xnat-tcia-download-project';
const ENTRYPOINT = ['node', '/app/dist/cli.js'];
const MANIFEST = 'downloadServerUrl=https://example.invalid/\nListOfSeriesToDownload=\n1.2.3\n';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'xtd-cs-unit-'));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

/** Project P1 with a decoy resource and the resource `label` holding `files` (fresh dirs on every call). */
function project(files: Record<string, string>, label = 'TCIA'): EmulatedProject {
  const parent = mkdtempSync(join(root, 'project-'));
  return {
    id: 'P1',
    resources: [
      { label: 'OTHER', directory: makeResourceDir(parent, 'OTHER', { 'x.tcia': MANIFEST }) },
      { label, directory: makeResourceDir(parent, label, files) },
    ],
  };
}

function argsFor(launch: LaunchValues, files: Record<string, string> = { 'study.tcia': MANIFEST }): string[] {
  const resolved = resolveLaunch(command, WRAPPER, launch, project(files));
  return containerArgv(resolved, ENTRYPOINT);
}

describe('resolving a launch as the Container Service does', () => {
  it('builds the default command line from the project and its TCIA resource', () => {
    const resolved = resolveLaunch(command, WRAPPER, { project: 'P1' }, project({ 'study.tcia': MANIFEST }));
    expect(resolved.commandLine).toBe('import "/input/study.tcia" --project P1  --output-dir /output --concurrency 4  --log-level info --source auto  ');
    expect(resolved.wrapperValues).toMatchObject({
      project: '/archive/projects/P1',
      project_id: 'P1',
      manifest_resource: '/archive/projects/P1/resources/TCIA',
      manifest_file: '/archive/projects/P1/resources/TCIA/files/study.tcia',
      manifest_name: 'study.tcia',
    });
    expect(resolved.mounts).toEqual([
      { name: 'manifest-in', containerPath: '/input', writable: false, hostPath: expect.stringMatching(/project-\w+\/TCIA$/) },
      { name: 'logs-out', containerPath: '/output', writable: true },
    ]);
    expect(containerArgv(resolved, ENTRYPOINT)).toEqual([
      'node', '/app/dist/cli.js', 'import', '/input/study.tcia', '--project', 'P1', '--output-dir', '/output',
      '--concurrency', '4', '--log-level', 'info', '--source', 'auto',
    ]);
  });

  it('accepts the project as a URI, as the REST launch API does', () => {
    expect(argsFor({ project: '/projects/P1' })).toContain('P1');
  });

  it('appends target_project as a second --project (the last one wins) and omits it when empty', () => {
    expect(argsFor({ project: 'P1', target_project: 'OTHER_P' }).slice(4, 8)).toEqual(['--project', 'P1', '--project', 'OTHER_P']);
    expect(argsFor({ project: 'P1', target_project: '' }).filter((a) => a === '--project')).toHaveLength(1);
  });

  it('maps dry_run through true-value/false-value and applies flags to user values', () => {
    const dry = argsFor({ project: 'P1', dry_run: true, concurrency: 2, log_level: 'debug' });
    expect(dry).toContain('--dry-run');
    expect(dry.join(' ')).toContain('--concurrency 2');
    expect(dry.join(' ')).toContain('--log-level debug');
    expect(argsFor({ project: 'P1', dry_run: 'TRUE' })).toContain('--dry-run');
    expect(argsFor({ project: 'P1', dry_run: false })).not.toContain('--dry-run');
    expect(argsFor({ project: 'P1', dry_run: 'yes' })).not.toContain('--dry-run');
  });

  it('drops an optional input with no value, flag included', () => {
    const line = resolveLaunch(command, WRAPPER, { project: 'P1', concurrency: '', log_level: '' }, project({ 'a.csv': 'x' })).commandLine;
    expect(line).not.toContain('--concurrency');
    expect(line).not.toContain('--log-level');
  });

  it('finds .tcia and .csv manifests in any case and ignores the catalog and other files', () => {
    expect(argsFor({ project: 'P1' }, { 'UPPER.TCIA': MANIFEST, 'notes.txt': 'x' })).toContain('/input/UPPER.TCIA');
    expect(argsFor({ project: 'P1' }, { 'list.Csv': 'x', 'readme.md': 'x' })).toContain('/input/list.Csv');
  });

  it('keeps a file name with spaces as one argument', () => {
    expect(argsFor({ project: 'P1' }, { 'my study.tcia': MANIFEST })).toContain('/input/my study.tcia');
  });

  it('refuses an ambiguous manifest choice unless the launch picks one', () => {
    const files = { 'a.tcia': MANIFEST, 'b.csv': 'x' };
    expect(() => argsFor({ project: 'P1' }, files)).toThrow(/does not have a unique, resolved value/);
    // The CS matches a File by its URI only: a bare name resolves to nothing.
    expect(argsFor({ project: 'P1', manifest_file: '/archive/projects/P1/resources/TCIA/files/b.csv' }, files)).toContain('/input/b.csv');
    expect(() => argsFor({ project: 'P1', manifest_file: 'b.csv' }, files)).toThrow(ResolutionError);
  });

  it('fails like the CS when there is no manifest, no TCIA resource or another project', () => {
    expect(() => argsFor({ project: 'P1' }, { 'notes.txt': 'x' })).toThrow(/Mount "manifest-in"|Missing values/);
    const noTcia = project({ 'a.tcia': MANIFEST }, 'DICOM');
    expect(() => resolveLaunch(command, WRAPPER, { project: 'P1' }, noTcia)).toThrow(ResolutionError);
    expect(() => argsFor({ project: 'P2' })).toThrow(/Could not instantiate Project/);
    expect(() => argsFor({})).toThrow(/Missing values for required inputs: project/);
  });

  it('rejects values carrying shell separators, as the CS does', () => {
    expect(() => argsFor({ project: 'P1', target_project: 'X;rm -rf /' })).toThrow(/illegal string ";"/);
    expect(() => argsFor({ project: 'P1', target_project: '$(id)' })).toThrow(/illegal string "\$\("/);
  });

  it('runs /bin/sh -c <line> when override-entrypoint is true', () => {
    const shellCommand = { ...command, 'override-entrypoint': true, 'command-line': `node /app/dist/cli.js ${String(command['command-line'])}` };
    const resolved = resolveLaunch(shellCommand, WRAPPER, { project: 'P1' }, project({ 'a.tcia': MANIFEST }));
    const argv = containerArgv(resolved, ENTRYPOINT);
    expect(argv.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    expect(argv[2]).toMatch(/^node \/app\/dist\/cli\.js import "\/input\/a\.tcia" --project P1/);
    const local = localArgv(argv, { input: '/tmp/in', output: '/tmp/out', repoRoot: '/repo' }, true);
    expect(local[2]).toMatch(/^node \/repo\/dist\/cli\.js import "\/tmp\/in\/a\.tcia" .* --output-dir \/tmp\/out /);
  });
});

describe('ShellSplitter and JSONPath emulation', () => {
  it('splits like the CS ShellSplitter', () => {
    expect(shellSplit(`a  "b c" 'd "e"' f\\ g "" h\\"`)).toEqual(['a', 'b c', 'd "e"', 'f g', 'h"']);
    expect(() => shellSplit('a "b')).toThrow(/unbalanced/);
  });

  it('evaluates the matchers command.json uses, and refuses others', () => {
    expect(matches("@.label == 'TCIA'", { label: 'TCIA' })).toBe(true);
    expect(matches("@.label == 'TCIA'", { label: 'tcia' })).toBe(false);
    expect(matches('@.name =~ /.*[.](tcia|csv)/i', { name: 'a.TCIA' })).toBe(true);
    // Java's Pattern.matches() matches the whole string, not a substring.
    expect(matches('@.name =~ /.*[.](tcia|csv)/i', { name: 'a.tcia.bak' })).toBe(false);
    expect(matches("@.name == 'a.csv' && @.name =~ /.*csv/", { name: 'a.csv' })).toBe(true);
    expect(() => matches("'DICOM' in @.resources[*].label", {})).toThrow(/not emulated/);
  });
});

describe('launching locally as the image would', () => {
  it('maps /input and /output, sets the injected environment and runs the entrypoint', async () => {
    // A stand-in repo whose dist/cli.js reports what it was given.
    const repo = join(root, 'repo');
    mkdirSync(join(repo, 'dist'), { recursive: true });
    writeFileSync(join(repo, 'Dockerfile'), 'FROM node:26-bookworm-slim\nENV NODE_ENV=production\nENTRYPOINT ["node", "/app/dist/cli.js"]\n');
    writeFileSync(
      join(repo, 'dist', 'cli.js'),
      `const fs = require('fs');
       const out = process.argv[process.argv.indexOf('--output-dir') + 1];
       let readOnly = false;
       try { fs.writeFileSync(process.argv[3] + '.new', 'x'); } catch { readOnly = true; }
       fs.writeFileSync(out + '/seen.json', JSON.stringify({ argv: process.argv.slice(2), cwd: process.cwd(), env: process.env,
         manifest: fs.readFileSync(process.argv[3], 'utf8'), readOnly }));
       process.exitCode = 3;`,
    );
    const resolved = resolveLaunch(command, WRAPPER, { project: 'P1', dry_run: true }, project({ 'a.tcia': MANIFEST }));
    const result = await launchLocally(resolved, {
      xnatHost: 'http://127.0.0.1:1', xnatUser: 'alias', xnatPass: 'secret', env: { TCIA_URL: 'http://127.0.0.1:2' }, repoRoot: repo,
    });
    try {
      expect(result.exitCode).toBe(3);
      const seen = JSON.parse(readFileSync(join(result.outputDir, 'seen.json'), 'utf8')) as {
        argv: string[]; cwd: string; env: Record<string, string>; manifest: string; readOnly: boolean;
      };
      expect(seen.argv).toEqual(['import', join(result.inputDir, 'a.tcia'), '--project', 'P1', '--output-dir', result.outputDir,
        '--concurrency', '4', '--dry-run', '--log-level', 'info', '--source', 'auto']);
      expect(seen.manifest).toBe(MANIFEST);
      expect(seen.cwd).toBe(repo);
      expect(seen.env).toMatchObject({ XNAT_HOST: 'http://127.0.0.1:1', XNAT_USER: 'alias', XNAT_PASS: 'secret', TCIA_URL: 'http://127.0.0.1:2', NODE_ENV: 'production' });
      expect(Object.keys(seen.env).sort()).toEqual(['HOME', 'NODE_ENV', 'PATH', 'TCIA_URL', 'XNAT_EVENT_ID', 'XNAT_HOST', 'XNAT_PASS', 'XNAT_USER', 'XNAT_WORKFLOW_ID']);
      // Read-only is enforced for everyone but root (CI runs as root).
      if (process.getuid?.() !== 0) expect(seen.readOnly).toBe(true);
      expect(result.containerArgv.slice(0, 3)).toEqual(['node', '/app/dist/cli.js', 'import']);
      expect(result.argv[0]).toBe(process.execPath);
      expect(result.argv.join(' ')).not.toContain('secret');
    } finally {
      disposeLaunch(result);
    }
  });
});
