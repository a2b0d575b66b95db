/** Parent-side handles on emulators running in their own processes (process-host.ts), for the benchmark and the memory test. */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IdcEmulatorOptions } from './idc/index.js';
import type { NbiaEmulatorOptions } from './nbia/index.js';
import type { XnatEmulatorOptions } from './xnat/index.js';
import type { Holdings, HostReply, HostRequest } from './process-host.js';

const HOST = fileURLToPath(new URL('./process-host.ts', import.meta.url));

/** Linux's USER_HZ: /proc reports CPU time in these ticks. */
export const TICKS_PER_SECOND = 100;

/** utime + stime of a live process in seconds (all its threads), or 0 once it is gone. */
export function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces and parentheses; the fields after the last ')' are fixed.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** One emulator process. */
export class EmulatorProcess {
  private constructor(
    readonly kind: 'nbia' | 'xnat' | 'idc',
    readonly url: string,
    private readonly child: ChildProcess,
  ) {}

  /** Forks a host and starts the emulator in it; `profileDir` adds `--cpu-prof` to that process. */
  static async start(
    spec: { kind: 'nbia'; options: NbiaEmulatorOptions } | { kind: 'xnat'; options: XnatEmulatorOptions } | { kind: 'idc'; options: IdcEmulatorOptions },
    profileDir?: string,
  ): Promise<EmulatorProcess> {
    // tsx runs its loader on a second thread, which writes a profile of its own: one folder per emulator keeps
    // them apart, and profilesIn() takes the main thread's (the largest).
    const profile = profileDir ? ['--cpu-prof', '--cpu-prof-dir', join(profileDir, spec.kind)] : [];
    const child = fork(HOST, [], { execArgv: [...profile, '--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const reply = await ask(child, { type: 'start', ...spec } as HostRequest);
    if (reply.type !== 'ready') throw new Error(`the ${spec.kind} emulator did not start: ${reply.type === 'failed' ? reply.message : reply.type}`);
    return new EmulatorProcess(spec.kind, reply.url, child);
  }

  /** CPU seconds the emulator process has used so far (all threads). */
  cpuSeconds(): number {
    return this.child.pid === undefined ? 0 : cpuSecondsOf(this.child.pid);
  }

  /** What XNAT holds for a project, archived and in the prearchive (XNAT hosts only). */
  async holdings(project: string): Promise<{ archived: Holdings; prearchive: Holdings }> {
    const reply = await ask(this.child, { type: 'summary', project });
    if (reply.type !== 'summary') throw new Error(`the ${this.kind} emulator could not summarise ${project}`);
    return { archived: reply.archived, prearchive: reply.prearchive };
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.send({ type: 'close' } satisfies HostRequest);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
  }
}

function ask(child: ChildProcess, request: HostRequest): Promise<HostReply> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: HostReply): void => {
      cleanup();
      resolve(message);
    };
    const onExit = (code: number | null): void => {
      cleanup();
      reject(new Error(`emulator process exited (${code}) before answering ${request.type}`));
    };
    const cleanup = (): void => {
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
    child.send(request);
  });
}
