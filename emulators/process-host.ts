/**
 * Child-process entry that runs one emulator for the benchmark (forked by process.ts). Each emulator gets
 * its own process, so on a small machine the NBIA zip generator, XNAT's upload parser and the tool can each use a
 * core, and the CPU each one burns can be read from /proc separately.
 */
import { startIdcEmulator, type IdcEmulator, type IdcEmulatorOptions } from './idc/index.js';
import { startNbiaEmulator, type NbiaEmulator, type NbiaEmulatorOptions } from './nbia/index.js';
import { startXnatEmulator, type XnatEmulator, type XnatEmulatorOptions } from './xnat/index.js';

/** Messages from the parent. */
export type HostRequest =
  | { type: 'start'; kind: 'nbia'; options: NbiaEmulatorOptions }
  | { type: 'start'; kind: 'xnat'; options: XnatEmulatorOptions }
  | { type: 'start'; kind: 'idc'; options: IdcEmulatorOptions }
  | { type: 'summary'; project: string }
  | { type: 'close' };

/** Files and bytes that landed in one XNAT area. */
export interface Holdings {
  sessions: number;
  scans: number;
  files: number;
  bytes: number;
}

/** Messages to the parent. */
export type HostReply =
  | { type: 'ready'; url: string }
  | { type: 'summary'; archived: Holdings; prearchive: Holdings }
  | { type: 'failed'; message: string };

let nbia: NbiaEmulator | undefined;
let xnat: XnatEmulator | undefined;
let idc: IdcEmulator | undefined;

function reply(message: HostReply): void {
  process.send?.(message);
}

function count(sessions: { scans: { files: { bytes: Buffer }[] }[] }[]): Holdings {
  const scans = sessions.flatMap((s) => s.scans);
  const files = scans.flatMap((s) => s.files);
  return { sessions: sessions.length, scans: scans.length, files: files.length, bytes: files.reduce((n, f) => n + f.bytes.length, 0) };
}

async function handle(message: HostRequest): Promise<void> {
  if (message.type === 'start' && message.kind === 'nbia') {
    nbia = await startNbiaEmulator(message.options);
    reply({ type: 'ready', url: nbia.url });
  } else if (message.type === 'start' && message.kind === 'xnat') {
    xnat = await startXnatEmulator(message.options);
    reply({ type: 'ready', url: xnat.url });
  } else if (message.type === 'start' && message.kind === 'idc') {
    idc = await startIdcEmulator(message.options);
    reply({ type: 'ready', url: idc.url });
  } else if (message.type === 'summary') {
    reply({ type: 'summary', archived: count(xnat?.archive(message.project) ?? []), prearchive: count(xnat?.prearchive(message.project) ?? []) });
  } else if (message.type === 'close') {
    await Promise.all([nbia?.close(), xnat?.close(), idc?.close()]);
    // process.exit (rather than letting the loop drain) also writes a --cpu-prof profile when one was asked for.
    process.exit(0);
  }
}

process.on('message', (message: HostRequest) => {
  handle(message).catch((error: unknown) => reply({ type: 'failed', message: (error as Error).stack ?? String(error) }));
});
// Orphaned by a crashed parent: there is nobody left to serve.
process.on('disconnect', () => process.exit(0));
