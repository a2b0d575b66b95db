#!/usr/bin/env -S node --max-semi-space-size=4 --single-threaded-gc --no-incremental-marking --expose-gc
import { readdir } from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import type { Argv } from 'yargs';
import { checkOptions, runCheckCommand } from './check/command.js';
import { consoleLogLevel, passwordOnCommandLine, resolveConfig, type Config, type RawOptions } from './config.js';
import { importOptions, tuningFrom } from './import-options.js';
import { checkArgv, COMMANDS, redact, secretsIn, withoutSeparator } from './argv-checks.js';
import { describeError, UsageError } from './errors.js';
import { createRunLogger } from './log.js';
import { Progress } from './progress.js';
import { createRunFolder, outputDirProblem } from './finalize/local-records.js';
import { endQuietlyOnClosedPipe, wipingFirst } from './terminal.js';
import { askForMissingPassword } from './prompt.js';
import { run, StopRequest, type Tuning } from './run.js';
import { usageErrorFrom, type YargsUsage } from './usage-errors.js';
import { VERSION } from './version.js';

// yargs' ES-module build wraps help text at a fixed column, cutting words in half; its CommonJS build wraps on
// word boundaries (yargs issue #2112, fixed only in yargs 18), so it is loaded through require.
const yargs = createRequire(import.meta.url)('yargs') as typeof import('yargs').default;

const EXIT_USAGE = 2;

/** Parses the command line, runs the command, and returns the exit code (0 all in XNAT, 1 some failed, 2 unusable input). */
export async function main(argv: string[]): Promise<number> {
  if (argv.length === 0) {
    process.stdout.write(`${await parser([], () => undefined).getHelp()}\n`);
    return EXIT_USAGE;
  }
  // No message about the command line echoes a password given on it (or in XNAT_PASS).
  const secrets = secretsIn(argv, process.env);
  const refuse = (error: unknown): number => {
    process.stderr.write(`xnat-tcia-download: ${redact(describeError(error), secrets)}\nRun 'xnat-tcia-download --help' for usage.\n`);
    return EXIT_USAGE;
  };
  let args: string[];
  try {
    const original = originalForm(argv, process.env);
    if (original) return execute(original);
    checkArgv(argv);
    args = withoutSeparator(argv);
  } catch (error) {
    return refuse(error);
  }

  // Handlers only choose what to run; it runs after yargs has validated the whole command line, so a typo
  // can never start an import (the fail callback throws, which stops yargs).
  let action: (() => Promise<number>) | undefined;
  try {
    await parser(args, (chosen) => (action = chosen)).parseAsync();
  } catch (error) {
    return refuse(error);
  }
  return action ? action() : 0;
}

/**
 * The original tool's form: <manifest> <output_dir> <project_id> <xnat_host> <xnat_user> [<xnat_pass>]; the
 * password may be left out when XNAT_PASS is set (or typed at a prompt on a terminal).
 */
function originalForm(argv: string[], env: NodeJS.ProcessEnv): RawOptions | undefined {
  const positional = argv.length >= 5 && argv.slice(0, 5).every((a) => !a.startsWith('-')) && !COMMANDS.includes(argv[0]!);
  if (!positional) return undefined;
  // Refused without echoing the arguments: the sixth is a password.
  const instead = 'for options use: import <manifest> --project <ID> [options]';
  if (argv.length > 6) throw new UsageError(`the original form takes 5 or 6 arguments (<manifest> <output_dir> <project_id> <xnat_host> <xnat_user> [<xnat_pass>]); ${argv.length} were given`, instead);
  if (argv[5]?.startsWith('-')) throw new UsageError("the original form takes no options, and its sixth argument, the password, starts with '-'", `${instead}; for such a password set XNAT_PASS and leave it out`);
  const [manifest, outputDir, project, xnatHost, xnatUser, xnatPass] = argv as [string, string, string, string, string, string | undefined];
  if (xnatPass === undefined) return { manifest, outputDir, project, xnatHost, xnatUser, xnatPass: env.XNAT_PASS, passwordFromArgv: false };
  return { manifest, outputDir, project, xnatHost, xnatUser, xnatPass, passwordFromArgv: true, originalForm: true };
}

function parser(argv: string[], choose: (action: () => Promise<number>) => void): Argv {
  return yargs(argv)
    .scriptName('xnat-tcia-download')
    .locale('en')
    .usage(
      [
        'Imports every series of a TCIA manifest into an XNAT project.',
        '',
        'Usage:',
        '$0 import <manifest> --project <ID> [options]',
        '$0 check --project <ID> [options]    (is this setup ready for an import?)',
        '$0 <manifest> <output_dir> <project_id> <xnat_host> <xnat_user> [<xnat_pass>]    (the original tool\'s form; leave out the password and set XNAT_PASS)',
        '$0 manifests    (list the sample manifests)',
      ].join('\n'),
    )
    .parserConfiguration({ 'duplicate-arguments-array': false, 'camel-case-expansion': false })
    .command(
      'import <manifest>',
      'Import the series of a .tcia or CSV manifest into an XNAT project',
      (y: Argv) => importOptions(y),
      (args) => {
        const tuning = tuningFrom(args);
        const str = (key: string): string | undefined => args[key] as string | undefined;
        const num = (key: string): number | undefined => args[key] as number | undefined;
        const flag = (key: string): boolean | undefined => args[key] as boolean | undefined;
        choose(() => execute({
          manifest: String(args.manifest),
          project: str('project'),
          xnatHost: str('xnat-host'),
          xnatUser: str('xnat-user'),
          xnatPass: str('xnat-pass'),
          passwordFromArgv: args['xnat-pass'] !== undefined,
          tciaUrl: str('tcia-url'),
          concurrency: num('concurrency'),
          retries: num('attempts'),
          dryRun: flag('dry-run'),
          planTable: flag('plan-table'),
          outputDir: str('output-dir'),
          logLevel: str('log-level'),
          insecure: flag('insecure'),
          progress: str('progress'),
          quiet: flag('quiet'),
          source: str('source'),
          idcIndex: str('idc-index'),
          idcEndpoint: str('idc-endpoint'),
          idcConnections: num('idc-connections'),
          cacheDir: str('cache-dir'),
        }, tuning));
      },
    )
    .command(
      'check',
      'Check, read-only, that XNAT, the project, the Container Service and TCIA are ready for an import',
      (y: Argv) => checkOptions(y),
      (args) => choose(() => runCheckCommand(args)),
    )
    .command('manifests', 'List the sample manifests shipped with the tool', () => undefined, () => choose(async () => {
      await listManifests();
      return 0;
    }))
    .demandCommand(1, 'Give a command, e.g. import <manifest> --project <ID>')
    .strict()
    .recommendCommands()
    .version(VERSION)
    .help()
    .alias('h', 'help')
    // A terminal's width, else 80 (piped output, StdOut.log).
    .wrap(Math.min(120, process.stdout.isTTY ? process.stdout.columns || 80 : 80))
    .epilog('Exit codes: 0 every series is in XNAT (check: the setup can import); 1 some series not imported (the rest are in XNAT), the run stopped on an error after its checks (TCIA unreachable while planning, a bug), or a dry run listed UIDs no source describes (check: something must be fixed first); 2 bad usage or unusable input, nothing imported; 130/143 stopped by SIGINT/SIGTERM. Behind an outgoing proxy set HTTPS_PROXY (HTTP_PROXY for plain http), and NO_PROXY for hosts reached directly.')
    .fail((message, error, usage) => {
      throw error ?? usageErrorFrom(message, argv, usage as unknown as YargsUsage);
    })
    .exitProcess(false);
}

async function execute(raw: RawOptions, tuning: Partial<Tuning> = {}): Promise<number> {
  let config: Readonly<Config>;
  let resolved: RawOptions;
  try {
    resolved = await askForMissingPassword(raw, process.env);
    config = resolveConfig(resolved, process.env);
  } catch (error) {
    process.stderr.write(`xnat-tcia-download: ${describeError(error)}\n`);
    return EXIT_USAGE;
  }
  let outputNote: string | undefined;
  const unwritable = await outputDirProblem(config.outputDir);
  if (unwritable && process.env.XNAT_WORKFLOW_ID !== undefined) {
    // Launched by the Container Service, whose output mount is a fresh build directory only XNAT's own user may
    // write (docs/reference/container-service.md#output-mounts): the local records go to a temporary folder, and the
    // project gets them from any run that changed something in it.
    const fallback = join(tmpdir(), 'xnat-tcia-download-output');
    outputNote = `the output folder ${config.outputDir} is not writable by this container's user (${unwritable}); the run's local records go to ${fallback} inside the container; a run that changes something in XNAT attaches them to the project, and one that changes nothing (a dry run, or every series already there) leaves them only in this log`;
    config = resolveConfig({ ...resolved, outputDir: fallback }, process.env);
  }
  const problem = outputNote ? await outputDirProblem(config.outputDir) : unwritable;
  if (problem) {
    process.stderr.write(`xnat-tcia-download: output directory ${config.outputDir} is not writable (${problem}); pass --output-dir with a writable folder\n`);
    return EXIT_USAGE;
  }

  let folder: { runId: string; dir: string };
  try {
    folder = await createRunFolder(config.outputDir);
  } catch (error) {
    process.stderr.write(`xnat-tcia-download: cannot create a run folder in ${config.outputDir} (${(error as Error).message}); pass --output-dir with a writable folder\n`);
    return EXIT_USAGE;
  }
  const logPath = join(folder.dir, 'run.log.jsonl');
  const level = consoleLogLevel(config);
  const tty = process.stderr.isTTY ? process.stderr : undefined;
  const enabled = config.progress === 'on' || (config.progress === 'auto' && !config.quiet);
  const bar = enabled ? tty : undefined;
  // On a terminal each log line first wipes the live bar, which the next tick redraws below it.
  const humanStream = bar && process.stdout.isTTY ? wipingFirst(bar) : undefined;
  const { logger, close } = createRunLogger({ level, jsonLogPath: logPath, secrets: [config.xnat.pass], color: false, humanStream });
  logger.info(`xnat-tcia-download ${VERSION}`);
  if (outputNote) logger.warn(outputNote);
  for (const warning of config.warnings) logger.warn(warning);
  if (config.passwordFromArgv) {
    logger.warn(passwordOnCommandLine(config.originalForm ? 'set XNAT_PASS and leave out the last argument' : undefined));
  }
  const progress = new Progress({ logger, tty: bar, enabled, intervalSeconds: tuning.progressIntervalSeconds });

  const controller = new AbortController();
  let signalled: NodeJS.Signals | undefined;
  let closing = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) return;
    signalled = signal;
    // Once the logger is closing, a line would go to a destroyed stream (and throw): the run is ending anyway.
    if (!closing) logger.warn(`${signal} received: taking no new series, finishing up and writing the report`);
    controller.abort(new StopRequest(signal));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const result = await run(config, { logger, signal: controller.signal, logPath, progress, tuning, print: (text) => process.stdout.write(`${text}\n`), runId: folder.runId, runDir: folder.dir });
  // The handlers stay: a signal that arrives while the process winds down must not kill it half-way.
  closing = true;
  await close();
  // run() derived its exit code from the signal too, so report.json and the process agree.
  return result.exitCode;
}

/** The original tool listed the manifests it ships; so does this. */
async function listManifests(): Promise<void> {
  const here = dirname(fileURLToPath(import.meta.url));
  const places = [resolve(here, '..', 'resources', 'TCIA'), resolve('resources', 'TCIA')];
  const seen = new Set<string>();
  for (const dir of places) {
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names.filter((n) => /\.(tcia|csv)$/i.test(n)).sort()) {
      const path = join(dir, name);
      if (!seen.has(name)) process.stdout.write(`${path}\n`);
      seen.add(name);
    }
  }
  process.stdout.write(`\nImport one with: xnat-tcia-download import <manifest> --project <ID>   (see --help)\n`);
}

// Through npm's bin symlink argv[1] is the link, so compare real paths.
const invokedDirectly = process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  endQuietlyOnClosedPipe(process.stdout);
  endQuietlyOnClosedPipe(process.stderr);
  main(process.argv.slice(2))
    .then((code) => {
      process.exitCode = code;
    })
    .catch((error: unknown) => {
      process.stderr.write(`xnat-tcia-download: unexpected failure: ${(error as Error).stack ?? String(error)}\n`);
      process.exitCode = 1;
    });
}

