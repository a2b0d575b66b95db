/**
 * Checks of the raw command line that yargs does not make, run before it parses: a switch given a value it would
 * quietly read as false (`--dry-run=yes` would import), a password that starts with '-' (yargs would split it into
 * single-letter flags and echo them), an empty value that would hide the environment's, and arguments after `--`.
 * And the redaction every usage message passes through, so no credential given on the command line is echoed.
 */
import { UsageError } from './errors.js';

/** Switches of `import` and `check`, with their one-letter aliases. */
const SWITCHES = new Set(['dry-run', 'plan-table', 'insecure', 'quiet', 'q']);
/** Options whose value is a path, URL, ID or credential: an empty one is a mistake, never a choice. */
const VALUED = new Set(['project', 'p', 'xnat-host', 'xnat-user', 'xnat-pass', 'tcia-url', 'output-dir', 'o', 'idc-index', 'idc-endpoint', 'cache-dir', 'source', 'log-level', 'progress']);
/** Options whose value is a number. */
const NUMERIC = new Set(['concurrency', 'c', 'attempts', 'retries', 'idc-connections', 'stall-timeout', 'retry-delay', 'settle-timeout', 'poll-interval', 'progress-interval']);
/** The commands; a first word that is none of them is a mistyped command, not a manifest. */
export const COMMANDS = ['import', 'check', 'manifests'];
const ENV_OF: Record<string, string> = { 'xnat-host': 'XNAT_HOST', 'xnat-user': 'XNAT_USER', 'xnat-pass': 'XNAT_PASS', 'tcia-url': 'TCIA_URL', source: 'XTD_SOURCE', 'idc-index': 'IDC_INDEX', 'idc-endpoint': 'IDC_ENDPOINT' };

/** The option an argument names (`--dry-run=x` → dry-run, `-o` → o), or undefined for a value. */
function optionName(arg: string): string | undefined {
  const match = /^--?([^=]+)/.exec(arg);
  return arg === '--' || !match ? undefined : match[1];
}

/** Throws a UsageError for the first mistake in `argv` (the part before any `--`). */
export function checkArgv(argv: readonly string[]): void {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') return;
    // yargs reads a lone '-' as an empty manifest path, which resolves to the current folder.
    if (arg === '-') throw new UsageError('a manifest cannot be read from standard input', 'give the path of the .tcia or CSV file');
    checkBundle(arg);
    const name = optionName(arg);
    if (name === undefined) continue;
    const inline = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : undefined;
    const bare = name.replace(/^no-/, '');
    if (SWITCHES.has(bare) && inline !== undefined && (name !== bare || (inline !== 'true' && inline !== 'false'))) {
      throw new UsageError(`--${name} takes no value, or exactly =true or =false (given '${inline}')`, `write --${bare} to turn it on`);
    }
    // yargs negates any option; for one with a value it would hand the code `false` where a value belongs.
    if (name !== bare && (VALUED.has(bare) || NUMERIC.has(bare))) {
      const hint = bare === 'project' || bare === 'p' ? 'write --project <ID>' : `leave ${flagOf(bare)} out for its default`;
      throw new UsageError(`unknown option --${name}: ${flagOf(bare)} takes a value`, hint);
    }
    if (!VALUED.has(name) && !NUMERIC.has(name)) continue;
    // An option last on the line, or right before `--`, was given no value.
    const value = inline ?? (argv[i + 1] === '--' ? '' : argv[i + 1]);
    if (name === 'xnat-pass' && inline === undefined && value !== undefined && value.startsWith('-')) {
      throw new UsageError('the value after --xnat-pass starts with \'-\', so it would be read as options', 'write --xnat-pass=<password>, or better, set XNAT_PASS');
    }
    // The next word is another option (a negative number aside): yargs would give this one '' and go on.
    const taken = inline === undefined && value !== undefined && value.startsWith('-') && !(NUMERIC.has(name) && /^-\d/.test(value));
    if (value === '' || value === undefined || taken) {
      const env = ENV_OF[name];
      const hint = env ? `give it a value, or leave it out to use ${env}` : name === 'project' || name === 'p' ? 'give the ID of the target project' : 'give it a value, or leave it out for its default';
      throw new UsageError(`${flagOf(name)} ${taken ? `has no value (the next word, ${value.split('=')[0]}, is an option)` : 'is empty'}`, hint);
    }
  }
}

function flagOf(name: string): string {
  return `${name.length === 1 ? '-' : '--'}${name}`;
}

/** `-cq`: a one-letter option that takes a value, bundled before other letters, would be given none. */
function checkBundle(arg: string): void {
  const letters = /^-([A-Za-z]{2,})$/.exec(arg)?.[1];
  if (!letters) return;
  const early = [...letters.slice(0, -1)].find((letter) => VALUED.has(letter) || NUMERIC.has(letter));
  if (early) throw new UsageError(`-${early} in ${arg} takes a value`, `write -${early} <value> on its own`);
}

/**
 * `import … -- <manifest>`: what follows `--` is positional, so it is handed to yargs as a plain argument at the
 * end (a path starting with '-' as ./-name, the same file), where it is the manifest, or an unexpected argument
 * when the manifest came before, as without `--`. Other commands take no positionals: anything after `--` is
 * refused.
 */
export function withoutSeparator(argv: readonly string[]): string[] {
  const at = argv.indexOf('--');
  if (at < 0) return [...argv];
  const after = argv.slice(at + 1);
  const before = argv.slice(0, at);
  if (after.length === 0) return before;
  if (before[0] !== 'import') throw new UsageError(`unexpected argument after --: ${after.length} given`, 'only import takes one, its manifest');
  return [...before, ...after.map((arg) => (arg.startsWith('-') ? `./${arg}` : arg))];
}

/** Credentials the command line or the environment holds, to be kept out of every message. */
export function secretsIn(argv: readonly string[], env: NodeJS.ProcessEnv): string[] {
  const secrets = new Set<string>();
  if (env.XNAT_PASS) secrets.add(env.XNAT_PASS);
  argv.forEach((arg, i) => {
    if (arg.startsWith('--xnat-pass=')) secrets.add(arg.slice('--xnat-pass='.length));
    else if (arg === '--xnat-pass' && argv[i + 1] !== undefined) secrets.add(argv[i + 1]!);
  });
  secrets.delete('');
  return [...secrets];
}

/** `text` with every secret in it replaced by ***. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join('***');
  return out;
}
