// What scripts/build.mjs puts into dist/ (built by the suite's global setup): got's HTTP/2 wrapper stays out.
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import http2Stub from '../../src/http2-unsupported.js';

const DIST = resolve('dist');

function bundleText(): string {
  return readdirSync(DIST)
    .filter((name) => name.endsWith('.js'))
    .map((name) => readFileSync(join(DIST, name), 'utf8'))
    .join('\n');
}

describe('the bundle', () => {
  it("holds the stub in place of got's HTTP/2 wrapper, and none of the wrapper's own code", () => {
    const text = bundleText();
    expect(text).toContain('// src/http2-unsupported.ts');
    expect(text).not.toContain('node_modules/http2-wrapper/');
  });

  it('fails loudly wherever HTTP/2 would be asked for', () => {
    expect(() => http2Stub.auto).toThrow(/HTTP\/2 is not built into this bundle/);
    expect(() => http2Stub.globalAgent).toThrow(/HTTP\/2 is not built into this bundle/);
  });
});
