/** `xnat-tcia-download check`: a read-only readiness checklist for an admin, kept apart from the import pipeline. */
import { resolve } from 'node:path';
import pino from 'pino';
import type { Argv } from 'yargs';
import { passwordOnCommandLine, tciaServerRoot, resolveProject, resolveSources, resolveXnatAccess, type SourcesConfig } from '../config.js';
import { describeError } from '../errors.js';
import { checkProxyEnvironment, describeRunRoutes } from '../proxy.js';
import { askForMissingPassword } from '../prompt.js';
import { DEFAULT_TCIA_ROOT } from '../tcia/server-url.js';
import { XnatClient } from '../xnat/xnat-client.js';
import { formatLine, type CheckLine } from './checklist.js';
import { checkContainerService } from './container-checks.js';
import { checkDisk } from './disk-check.js';
import { checkTcia } from './tcia-checks.js';
import { checkXnat } from './xnat-checks.js';

export function checkOptions(y: Argv): Argv {
  return y
    .option('project', { alias: 'p', type: 'string', describe: 'The project an import would go into' })
    .option('xnat-host', { type: 'string', describe: 'XNAT base URL [env: XNAT_HOST]' })
    .option('xnat-user', { type: 'string', describe: 'XNAT user or alias token [env: XNAT_USER]' })
    .option('xnat-pass', { type: 'string', describe: 'XNAT password or token secret; prefer XNAT_PASS [env: XNAT_PASS]' })
    .option('tcia-url', { type: 'string', describe: `TCIA server root (default: ${DEFAULT_TCIA_ROOT}) [env: TCIA_URL]` })
    .option('source', { type: 'string', describe: 'The --source an import would use: auto, idc or nbia (default: auto) [env: XTD_SOURCE]' })
    .option('idc-index', { type: 'string', describe: "URL or path of IDC's tcia_idc_subset.parquet [env: IDC_INDEX]" })
    .option('idc-endpoint', { type: 'string', describe: 'S3-compatible server for IDC\'s buckets [env: IDC_ENDPOINT]' })
    .option('output-dir', { alias: 'o', type: 'string', default: 'xnat-tcia-download-output', describe: 'The folder an import would write its reports to' })
    .option('insecure', { type: 'boolean', default: false, describe: 'Do not verify TLS certificates' });
}

/** Prints one line per check and returns 0 when an import can work, 1 when something must be fixed, 2 for bad usage. */
export async function runCheckCommand(args: Record<string, unknown>): Promise<number> {
  const str = (key: string): string | undefined => args[key] as string | undefined;
  const warnings: string[] = [];
  let setup: { project: string; access: ReturnType<typeof resolveXnatAccess>; tciaRoot: string; outputDir: string; sources: SourcesConfig };
  try {
    const raw = await askForMissingPassword({ xnatHost: str('xnat-host'), xnatUser: str('xnat-user'), xnatPass: str('xnat-pass'), insecure: args.insecure as boolean }, process.env);
    const tcia = (str('tcia-url') ?? process.env.TCIA_URL ?? '').trim();
    const outputDir = resolve(str('output-dir') ?? 'xnat-tcia-download-output');
    setup = {
      project: resolveProject(str('project')),
      access: resolveXnatAccess(raw, process.env, warnings),
      tciaRoot: tcia ? tciaServerRoot(tcia) : DEFAULT_TCIA_ROOT,
      outputDir,
      sources: resolveSources({ source: str('source'), idcIndex: str('idc-index'), idcEndpoint: str('idc-endpoint') }, process.env, outputDir),
    };
    checkProxyEnvironment(process.env);
  } catch (error) {
    process.stderr.write(`xnat-tcia-download: ${describeError(error)}\n`);
    return 2;
  }
  const { project, access, tciaRoot, outputDir, sources } = setup;
  if (str('xnat-pass') !== undefined) warnings.push(passwordOnCommandLine());
  for (const warning of warnings) process.stdout.write(`! ${warning}\n`);
  process.stdout.write(`Checking whether ${access.user} can import into project ${project} on ${access.host} (read-only)\n`);
  const routes = describeRunRoutes(access.host, tciaRoot, sources);
  if (routes) process.stdout.write(`  ${routes}\n`);

  const print = (lines: CheckLine[]): CheckLine[] => {
    for (const line of lines) process.stdout.write(`${formatLine(line)}\n`);
    return lines;
  };
  const xnat = new XnatClient({ ...access, logger: pino({ level: 'silent' }) });
  const xnatFindings = await checkXnat(xnat, project, access.user);
  const all = [...print(xnatFindings.lines)];
  if (xnatFindings.loggedIn) all.push(...print(await checkContainerService(xnat, xnatFindings.projectId, xnatFindings.projectExists, process.env)));
  all.push(...print(await checkTcia(tciaRoot, access.insecure)));
  // The IDC checks bring the S3 client, loaded only when `check` runs.
  const { checkIdc } = await import('./idc-checks.js');
  all.push(...print(await checkIdc(sources, access.insecure)));
  all.push(...print([await checkDisk(outputDir)]));

  const failures = all.filter((l) => l.status === 'fail').length;
  const warnCount = all.filter((l) => l.status === 'warn').length;
  const notes = warnCount ? ` (${warnCount} note${warnCount > 1 ? 's' : ''} above)` : '';
  process.stdout.write(failures === 0 ? `ready: an import into ${project} can work${notes}\n` : `not ready: ${failures} problem${failures > 1 ? 's' : ''} to fix first\n`);
  return failures === 0 ? 0 : 1;
}
