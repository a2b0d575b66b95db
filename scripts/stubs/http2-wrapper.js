/**
 * Stands in for http2-wrapper in the bundle (scripts/build.mjs). got imports it for its `http2` option, which the
 * tool never sets: TCIA, IDC and XNAT are spoken to over HTTP/1.1. Evaluating the real package at start-up built a
 * TLS context and some 64 kB of code on every run for nothing (docs/benchmarks.md, fixed cost of a run). got touches
 * these only with `http2: true`; should that ever happen, the run fails loudly instead of quietly using HTTP/1.1.
 */
const unsupported = () => {
  throw new Error('HTTP/2 is not built into this bundle of xnat-tcia-download (scripts/stubs/http2-wrapper.js)');
};
export default {
  get auto() {
    return unsupported();
  },
  get globalAgent() {
    return unsupported();
  },
};
