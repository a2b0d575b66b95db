/**
 * The Dockerfile's `LABEL org.nrg.commands="[…]"` line: how the Container Service reads it and how
 * scripts/generate-command-label.ts writes it from command.json (docs/reference/container-service.md#command-json).
 */
/** The label key the Container Service reads commands from (CommandLabelService.LABEL_KEY). */
export const LABEL_KEY = 'org.nrg.commands';

const GENERATED_COMMENT = '# Generated from command.json by scripts/generate-command-label.ts; do not edit by hand.';

/**
 * The label's value: a JSON array holding the command, as one string. The Container Service
 * rejects anything but an array here, and a bad label fails silently (only a server log line).
 */
export function labelValue(command: unknown): string {
  return JSON.stringify([command]);
}

/**
 * Escapes a value for a double-quoted Dockerfile word. Inside double quotes the Dockerfile lexer
 * turns `\"`, `\$` and `\\` into the bare character and keeps every other backslash, so `"` and `$`
 * must be escaped (else the word ends or a build variable is expanded) and so must `\` — a JSON
 * escape such as `\\` in a matcher would otherwise reach the label as a lone, invalid `\`.
 */
export function escapeDockerfileWord(value: string): string {
  return value.replace(/[\\"$]/g, (ch) => `\\${ch}`);
}

/** Reverses {@link escapeDockerfileWord} the way the Dockerfile lexer reads a double-quoted word. */
export function unescapeDockerfileWord(word: string): string {
  return word.replace(/\\([\\"$])/g, '$1');
}

/** The full LABEL instruction for a command. */
export function labelInstruction(command: unknown): string {
  return `LABEL ${LABEL_KEY}="${escapeDockerfileWord(labelValue(command))}"`;
}

const LABEL_LINE = new RegExp(`^LABEL\\s+${LABEL_KEY.replace(/\./g, '\\.')}=`);

/**
 * Returns the Dockerfile with the generated comment and label as its last two lines. Any earlier
 * generated label or comment is removed first, so running this twice never adds a second label.
 */
export function withCommandLabel(dockerfile: string, command: unknown): string {
  const kept = dockerfile
    .split('\n')
    .filter((line) => line !== GENERATED_COMMENT && !LABEL_LINE.test(line));
  while (kept.length > 0 && kept[kept.length - 1]!.trim() === '') kept.pop();
  return `${kept.join('\n')}\n\n${GENERATED_COMMENT}\n${labelInstruction(command)}\n`;
}

/** The decoded value of the Dockerfile's org.nrg.commands label, or undefined if there is none. */
export function readCommandLabel(dockerfile: string): string | undefined {
  const lines = dockerfile.split('\n').filter((line) => LABEL_LINE.test(line));
  if (lines.length !== 1) {
    if (lines.length > 1) throw new Error(`the Dockerfile has ${lines.length} ${LABEL_KEY} labels; expected one`);
    return undefined;
  }
  const match = /^LABEL\s+\S+?="((?:[^"\\]|\\.)*)"\s*$/.exec(lines[0]!);
  if (!match) throw new Error(`the ${LABEL_KEY} label is not a single double-quoted word`);
  return unescapeDockerfileWord(match[1]!);
}
