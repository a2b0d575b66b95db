/**
 * Starts the NBIA and XNAT emulators on loopback for scripts/test-image.sh, prints one JSON line
 * {nbia, xnat, control, user, pass} on stdout (user/pass: an alias token pair, as the Container
 * Service injects), and serves GET <control>/state?project=P so the shell script can check what
 * reached XNAT. Runs until SIGTERM or SIGINT.
 *
 *   npx tsx scripts/image-test-emulators.ts [--project ID]...   (projects that exist at start; default P1 P2)
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startNbiaEmulator } from '../emulators/nbia/index.js';
import { startXnatEmulator } from '../emulators/xnat/index.js';

const projects: string[] = [];
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--project' && args[i + 1]) projects.push(args[++i]!);
  else {
    console.error(`usage: npx tsx scripts/image-test-emulators.ts [--project ID]... (unknown: ${args[i]})`);
    process.exit(2);
  }
}
if (projects.length === 0) projects.push('P1', 'P2');

const nbia = await startNbiaEmulator();
// Launching projects exist in XNAT: the Container Service starts the container from one.
const xnat = await startXnatEmulator({ projects: projects.map((id) => ({ id, owners: ['admin'] })) });
const token = xnat.issueAliasToken('admin');

const control = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const project = url.searchParams.get('project') ?? '';
  if (url.pathname !== '/state' || !project) {
    res.writeHead(404).end();
    return;
  }
  const archive = xnat.archive(project);
  const resources: Record<string, string[]> = {};
  for (const label of ['TCIA_IMPORT_LOGS', 'MANIFEST_ORIGINAL', 'MANIFEST_MODIFIED']) {
    const files = xnat.projectResource(project, label);
    if (files) resources[label] = [...files.keys()].sort();
  }
  const state = {
    exists: xnat.projectExists(project),
    sessions: archive.length,
    series: archive.reduce((n, session) => n + session.scans.length, 0),
    resources,
  };
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(state));
});
await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', resolve));
const controlPort = (control.address() as AddressInfo).port;

process.stdout.write(
  `${JSON.stringify({ nbia: nbia.url, xnat: xnat.url, control: `http://127.0.0.1:${controlPort}`, user: token.alias, pass: token.secret })}\n`,
);

const stop = (): void => {
  control.closeAllConnections();
  control.close();
  void Promise.all([nbia.close(), xnat.close()]).finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
