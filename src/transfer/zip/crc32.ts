import { createRequire } from 'node:module';
import { crc32 as zlibCrc32 } from 'node:zlib';

type Crc32 = (data: Uint8Array, value?: number) => number;

/** Which code computes CRC-32 in this process. */
export type Crc32Implementation = '@node-rs/crc32' | 'node:zlib';

let loaded: { name: Crc32Implementation; crc32: Crc32 } | undefined;

/**
 * The zip format's CRC-32 of `data`, continuing from `value` (the CRC of the bytes before it), as an unsigned number.
 *
 * Every file the tool moves is checked against it, so its speed is paid per byte. node's zlib.crc32 is table-driven
 * in node's build, about 2.3 GB/s on one core here: 8 % of the floor's inflate + MD5 work. @node-rs/crc32 uses the
 * CPU's carry-less multiply, about 20 GB/s (docs/benchmarks.md). Its binary ships per platform; where it is missing,
 * zlib's function gives the same values.
 */
export function crc32(data: Uint8Array, value = 0): number {
  loaded ??= load();
  return loaded.crc32(data, value) >>> 0;
}

export function crc32Implementation(): Crc32Implementation {
  loaded ??= load();
  return loaded.name;
}

// Loaded on first use: runs that move no bytes (--version, --dry-run, check) never load the binary.
function load(): { name: Crc32Implementation; crc32: Crc32 } {
  try {
    const fast = (createRequire(import.meta.url)('@node-rs/crc32') as { crc32: Crc32 }).crc32;
    // The standard check value: a binary that loads but computes something else must never be trusted.
    if (fast(Buffer.from('123456789', 'latin1'), 0) >>> 0 === 0xcbf43926) return { name: '@node-rs/crc32', crc32: fast };
  } catch {
    // No binary for this platform: zlib's below.
  }
  return { name: 'node:zlib', crc32: zlibCrc32 };
}
