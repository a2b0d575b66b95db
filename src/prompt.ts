import { read } from 'read';
import { withoutUserinfo } from './config.js';

/** True when a person can answer a prompt: both the keyboard and the screen are a terminal. */
export function canPrompt(): boolean {
  return process.stdin.isTTY === true && process.stderr.isTTY === true;
}

/** Asks for a secret on the terminal without echoing it (the prompt goes to stderr, so stdout stays clean). */
export async function promptSecret(prompt: string): Promise<string> {
  const answer = await read({ prompt, silent: true, replace: '', input: process.stdin, output: process.stderr, terminal: true });
  return String(answer).trim();
}

/**
 * With no password from a flag or XNAT_PASS, a person at a terminal is asked for it (without echo); elsewhere
 * the options stay as they are and the configuration says which credential is missing.
 */
export async function askForMissingPassword<T extends { xnatHost?: string; xnatUser?: string; xnatPass?: string }>(raw: T, env: NodeJS.ProcessEnv): Promise<T> {
  const user = raw.xnatUser ?? env.XNAT_USER;
  const host = raw.xnatHost ?? env.XNAT_HOST;
  if ((raw.xnatPass ?? env.XNAT_PASS) || !user || !host || !canPrompt()) return raw;
  const pass = await promptSecret(`XNAT password for ${user} at ${withoutUserinfo(host)}: `);
  return pass ? { ...raw, xnatPass: pass } : raw;
}
