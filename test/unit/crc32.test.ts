// The CRC-32 every moved file is checked against: the fast module must be the one in use, and agree with zlib's.
import { randomBytes } from 'node:crypto';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { crc32, crc32Implementation } from '../../src/transfer/zip/crc32.js';

describe('crc32', () => {
  it('uses the carry-less-multiply module where its binary ships (linux x64 here, and in the image)', () => {
    const shipped = process.platform === 'linux' && process.arch === 'x64';
    expect(crc32Implementation()).toBe(shipped ? '@node-rs/crc32' : 'node:zlib');
  });

  it('gives the standard check value, unsigned, and 0 for no bytes', () => {
    expect(crc32(Buffer.from('123456789', 'latin1'))).toBe(0xcbf43926);
    expect(crc32(Buffer.alloc(0))).toBe(0);
    expect(crc32(Buffer.alloc(0), 0xdeadbeef)).toBe(0xdeadbeef);
  });

  it('agrees with zlib on every length and wherever the bytes are cut into chunks', () => {
    const data = randomBytes(300_000);
    for (const length of [1, 3, 15, 16, 17, 63, 64, 65, 255, 4096, 65_537, data.length]) {
      const bytes = data.subarray(0, length);
      expect(crc32(bytes)).toBe(zlibCrc32(bytes));
    }
    for (let round = 0; round < 20; round++) {
      let value = 0;
      for (let at = 0; at < data.length; ) {
        const next = Math.min(data.length, at + 1 + Math.floor(Math.random() * 40_000));
        value = crc32(data.subarray(at, next), value);
        at = next;
      }
      expect(value).toBe(zlibCrc32(data));
    }
  });

  it('reads a view where it starts, not its whole backing store', () => {
    const store = randomBytes(1000);
    const view = new Uint8Array(store.buffer, store.byteOffset + 100, 500);
    expect(crc32(view)).toBe(zlibCrc32(store.subarray(100, 600)));
  });
});
