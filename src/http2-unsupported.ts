/**
 * Stands in for the package http2-wrapper in the bundle: scripts/build.mjs aliases it here, and nothing in src
 * imports it. got imports the wrapper for its `http2` option, which the tool never sets (TCIA, IDC and XNAT are
 * spoken to over HTTP/1.1), yet evaluating it at start-up built a TLS context and some 64 kB of code on every run
 * (docs/benchmarks.md, fixed cost of a run). got reads these only with `http2: true`; should that ever happen, the
 * run fails loudly instead of quietly using HTTP/1.1.
 */
const unsupported = (): never => {
  throw new Error('HTTP/2 is not built into this bundle of xnat-tcia-download (src/http2-unsupported.ts)');
};

export default {
  get auto(): never {
    return unsupported();
  },
  get globalAgent(): never {
    return unsupported();
  },
};
