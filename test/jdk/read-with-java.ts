// Runs test/jdk/ZipRead.java on a zip stream: java.util.zip.ZipInputStream, as XNAT's DICOM-zip importer reads uploads.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** What Java saw of one entry: its name, method (0 STORED, 8 DEFLATED), bytes read and their CRC-32. */
export interface JavaEntry {
  name: string;
  method: number;
  size: number;
  crc: number;
}

let classDir: string | undefined;

/** Compiles ZipRead.java once per process (javac is on PATH in CI: .ci/run installs openjdk-17-jdk-headless). */
function compiled(): string {
  if (!classDir) {
    classDir = mkdtempSync(join(tmpdir(), 'xtd-jdk-'));
    execFileSync('javac', ['-d', classDir, fileURLToPath(new URL('./ZipRead.java', import.meta.url))]);
  }
  return classDir;
}

/** Streams `zip` into Java's ZipInputStream; resolves with the entries it read, or with its refusal. */
export async function readWithJava(zip: Readable): Promise<{ entries: JavaEntry[]; error?: string; broken?: boolean }> {
  const java = spawn('java', ['-cp', compiled(), 'ZipRead'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  java.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
  java.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
  const exited = new Promise<number>((resolve) => java.on('close', (code) => resolve(code ?? -1)));
  // Java may stop reading early when it refuses the zip; that is its answer, not a test failure. A zip stream that
  // errors is what an aborted upload looks like to XNAT (a broken request); Java itself only sees the pipe close.
  let broken = false;
  zip.once('error', () => (broken = true));
  await pipeline(zip, java.stdin).catch(() => undefined);
  const code = await exited;
  const entries = out
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => {
      const [name = '', method = '', size = '', crc = ''] = line.split('\t');
      return { name, method: Number(method), size: Number(size), crc: parseInt(crc, 16) };
    });
  const error = code === 0 ? undefined : err.trim() || `java exited with ${code}`;
  return { entries, ...(error ? { error } : {}), ...(broken ? { broken } : {}) };
}
