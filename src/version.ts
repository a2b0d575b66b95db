import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const pkg = require('../package.json') as { version: string };

export const VERSION = pkg.version;
/** A non-browser User-Agent: XNAT applies CSRF checks and login redirects to browser-like agents (docs/reference/xnat-rest.md#login-and-sessions). */
export const USER_AGENT = `xnat-tcia-download/${VERSION}`;
