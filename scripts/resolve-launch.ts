/**
 * Resolves command.json's wrapper for a launch, as the Container Service would, for
 * scripts/test-image.sh. Prints NUL-separated fields: the mode, then what follows the image in
 * `podman run`:
 *   image\0<arg>\0<arg>…   override-entrypoint false: arguments to the image's ENTRYPOINT
 *   shell\0<line>          override-entrypoint true: the line for /bin/sh -c
 *
 *   npx tsx scripts/resolve-launch.ts --input-dir DIR [--wrapper NAME] [--label TCIA] name=value...
 * DIR is the emulated project resource (label TCIA by default) of the project named by project=ID.
 */
import { containerArgv, readCommand, resolveLaunch, type LaunchValues } from '../emulators/container-service/launch.js';

const values: LaunchValues = {};
let inputDir: string | undefined;
let wrapperName: string | undefined;
let label = 'TCIA';
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  const arg = args[i]!;
  if (arg === '--input-dir') inputDir = args[++i];
  else if (arg === '--wrapper') wrapperName = args[++i];
  else if (arg === '--label') label = args[++i] ?? label;
  else if (/^[A-Za-z0-9_-]+=/.test(arg)) values[arg.slice(0, arg.indexOf('='))] = arg.slice(arg.indexOf('=') + 1);
  else {
    console.error(`resolve-launch: unexpected argument ${arg}`);
    process.exit(2);
  }
}
const command = readCommand();
const wrapper = wrapperName ?? String((command.xnat as Array<Record<string, unknown>>)[0]?.name);
const projectId = String(values.project ?? '').replace(/^(\/archive)?\/projects\//, '');
if (!inputDir || !projectId) {
  console.error('resolve-launch: --input-dir and project=ID are required');
  process.exit(2);
}

const resolved = resolveLaunch(command, wrapper, values, { id: projectId, resources: [{ label, directory: inputDir }] });
// The image's own ENTRYPOINT runs in the container; only the arguments after it are printed.
const argv = containerArgv(resolved, []);
const fields = resolved.overrideEntrypoint ? ['shell', argv[2]!] : ['image', ...argv];
process.stdout.write(fields.map((field) => `${field}\0`).join(''));
