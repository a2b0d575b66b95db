/** Runs the built CLI in a process group of its own and kills the whole group (SIGKILL) when told to. */
import { spawn } from 'node:child_process';

/**
 * When to kill: `after-504` right after the tool logs a commit answered 504, `at` so many ms into the transfer;
 * `never`. Clocks start at the tool's plan line, so every run gets past its settle step before it can be killed,
 * however slow the machine: the run after a 504 kill must get to see the archive XNAT is still running.
 */
export type KillPlan = { when: 'after-504'; fallbackMs: number } | { when: 'at'; ms: number } | { when: 'never' };

export interface ToolRun {
  exitCode: number | null;
  /** What the kill hit, or '' when the run ended on its own. */
  killed: string;
  stdout: string;
  stderr: string;
}

export function runTool(cli: string, args: string[], env: Record<string, string>, plan: KillPlan, timeoutMs = 300_000): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(cli, args, {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    let killed = '';
    const killGroup = (why: string): void => {
      if (killed || child.exitCode !== null || child.pid === undefined) return;
      killed = why;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // The group is already gone.
      }
    };
    const timers: NodeJS.Timeout[] = [setTimeout(() => killGroup(`timeout after ${timeoutMs} ms`), timeoutMs)];
    let armed = false;
    const arm = (): void => {
      armed = true;
      if (plan.when === 'at') timers.push(setTimeout(() => killGroup(`at ${plan.ms} ms after planning`), plan.ms));
      if (plan.when === 'after-504') timers.push(setTimeout(() => killGroup(`at ${plan.fallbackMs} ms after planning (no 504 seen)`), plan.fallbackMs));
    };
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (!armed && /\bplan: /.test(stdout)) arm();
      if (plan.when === 'after-504' && /commit answer lost/.test(stdout)) killGroup('right after a commit answered 504');
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (exitCode) => {
      for (const t of timers) clearTimeout(t);
      resolve({ exitCode, killed, stdout, stderr });
    });
  });
}
