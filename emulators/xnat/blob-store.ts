/** Where the emulator keeps received DICOM bytes: files in a temp dir, so memory stays flat however much is imported. */
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export class BlobStore {
  readonly dir = mkdtempSync(join(tmpdir(), 'xnat-emulator-'));
  private next = 0;

  /** Writes the bytes out and returns where they are. */
  put(bytes: Buffer): string {
    const path = join(this.dir, String(++this.next));
    writeFileSync(path, bytes);
    return path;
  }

  read(path: string): Buffer {
    return readFileSync(path);
  }

  remove(path: string): void {
    try {
      unlinkSync(path);
    } catch {
      // Already gone: removal is best effort, the whole folder goes on close.
    }
  }

  /** Removes the folder and everything in it. */
  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
