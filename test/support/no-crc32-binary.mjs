// Preloaded with --import: the platform binaries of @node-rs/crc32 cannot be found, as on a platform it ships none
// for. The package itself still loads, and throws, so the tool must fall back on node's zlib.crc32.
import Module from 'node:module';

const PLATFORM_BINARY = /crc32[-.](linux|darwin|win32|freebsd|android|openharmony|wasm32)/;
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (PLATFORM_BINARY.test(request)) {
    const error = new Error(`Cannot find module '${request}'`);
    error.code = 'MODULE_NOT_FOUND';
    throw error;
  }
  return resolveFilename.call(this, request, ...rest);
};
