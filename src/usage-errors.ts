import leven from 'leven';
import { COMMANDS } from './argv-checks.js';
import { UsageError } from './errors.js';

/** What yargs tells its `.fail()` callback about the current command: its known options and commands. */
export interface YargsUsage {
  getDescriptions(): Record<string, string | undefined>;
  getUsage(): Array<[string, ...unknown[]]>;
}

/**
 * Turns a yargs validation message into one line that names the mistake and, where a known option or command
 * is close, the likely intended one. The options come from yargs' own list for the command being parsed.
 */
export function usageErrorFrom(message: string, argv: string[], usage: YargsUsage): UsageError {
  const unknown = /^Unknown arguments?: (.+)$/.exec(message);
  const command = argv[0];
  if (unknown && command !== undefined && !command.startsWith('-') && !COMMANDS.includes(command)) {
    // The options after a command yargs does not know are checked as top-level ones, so --project would be blamed.
    const near = closest(command, COMMANDS);
    return new UsageError(`unknown command '${command}'${near ? `; did you mean ${near}?` : ''}`, `the commands are ${COMMANDS.join(', ')}: e.g. import <manifest> --project <ID>`);
  }
  if (unknown) {
    const known = Object.keys(usage.getDescriptions());
    const parts = unknown[1]!.split(', ').map((name) => describeUnknown(name, argv, known));
    return new UsageError(parts.join('; '));
  }
  const recommended = /^Did you mean (.+)\?$/.exec(message);
  if (recommended) {
    const given = argv.find((a) => !a.startsWith('-')) ?? '';
    return new UsageError(`unknown command '${given}'; did you mean ${recommended[1]}?`);
  }
  if (/^Not enough non-option arguments/.test(message)) {
    // Inside a command yargs' usage is that command's own line, e.g. "$0 import <manifest>".
    const shape = usage.getUsage()[0]?.[0].replace(/^\$0\s*/, '');
    return shape ? new UsageError(`missing argument: ${shape}`) : new UsageError('no command given', 'e.g. import <manifest> --project <ID>, or --help');
  }
  const choice = /Argument: (\S+), Given: (.*), Choices: (.*)$/s.exec(message);
  if (choice) return new UsageError(`--${choice[1]} ${choice[2]} is not one of ${choice[3]!.replace(/"/g, '')}`);
  const missing = /^Missing required arguments?: (.+)$/.exec(message);
  if (missing) return new UsageError(`missing ${missing[1]!.split(', ').map((m) => `--${m}`).join(', ')}`);
  return new UsageError(message.replace(/\s*\n\s*/g, ' '));
}

function describeUnknown(name: string, argv: string[], known: string[]): string {
  const asOption = argv.some((a) => new RegExp(`^--?(no-)?${escape(name)}(=|$)`).test(a));
  if (!asOption) return `unexpected argument '${name}'`;
  const flag = name.length === 1 ? `-${name}` : `--${name}`;
  const near = closest(name, known);
  return near ? `unknown option ${flag}; did you mean --${near}?` : `unknown option ${flag}`;
}

/** The known name nearest to `name`, if it is near enough to be a plausible typo (or a prefix either way). */
export function closest(name: string, known: string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const candidate of known.filter((k) => k.length > 1)) {
    const distance = leven(name.toLowerCase(), candidate);
    if (!best || distance < best.distance) best = { name: candidate, distance };
  }
  if (!best) return undefined;
  const prefix = name.length >= 4 && (best.name.startsWith(name) || name.startsWith(best.name));
  return best.distance <= Math.max(2, Math.floor(name.length / 3)) || prefix ? best.name : undefined;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
