import { startNbiaEmulator, type NbiaEmulator, type NbiaEmulatorOptions } from '../../emulators/nbia/index.js';
import { startXnatEmulator, type XnatEmulator, type XnatEmulatorOptions } from '../../emulators/xnat/index.js';
import { runCli, tempDir, type CliResult } from './run-cli.js';

export const PASSWORD = 'S3cret-pass!word';

/** Both emulators, an output folder, and the CLI wired to them: what an end-to-end test needs. */
export interface World {
  xnat: XnatEmulator;
  nbia: NbiaEmulator;
  out: string;
  env: Record<string, string>;
  run(args: string[], options?: Parameters<typeof runCli>[2] & { env?: Record<string, string> }): Promise<CliResult>;
  imports(): number;
  close(): Promise<void>;
}

/** Fast retry and polling knobs so fault tests take seconds, not minutes. */
export const FAST = ['--retry-delay', '0.05', '--stall-timeout', '1', '--poll-interval', '0.1', '--settle-timeout', '20'];

export async function startWorld(options: { nbia?: NbiaEmulatorOptions; xnat?: XnatEmulatorOptions } = {}): Promise<World> {
  const xnat = await startXnatEmulator({ users: [{ username: 'admin', password: PASSWORD, admin: true }], ...options.xnat });
  const nbia = await startNbiaEmulator(options.nbia);
  const out = await tempDir('xtd-out-');
  // NBIA only, as before IDC was a source: an NBIA-only world must not reach for IDC's public index (test/support/idc-world.ts adds IDC).
  const env: Record<string, string> = { XNAT_HOST: xnat.url, XNAT_USER: 'admin', XNAT_PASS: PASSWORD, TCIA_URL: nbia.url, XTD_SOURCE: 'nbia' };
  return {
    xnat,
    nbia,
    out,
    env,
    run: (args, runOptions = {}) => runCli(args, { ...env, ...runOptions.env }, runOptions),
    imports: () => xnat.requests.filter((r) => r.method === 'POST' && r.path === '/data/services/import').length,
    close: async () => {
      await xnat.close();
      await nbia.close();
    },
  };
}

/**
 * Every listed series is archived exactly once, complete, and byte-identical to what TCIA served; nothing is
 * left in the prearchive.
 */
export function expectArchivedAsServed(world: World, project: string, uids: string[]): void {
  const scans = world.xnat.archive(project).flatMap((session) => session.scans);
  for (const uid of uids) {
    const matching = scans.filter((s) => s.seriesInstanceUid === uid);
    expect(matching).toHaveLength(1);
    const spec = world.nbia.spec(uid)!;
    const served = new Set(Array.from({ length: spec.imageCount }, (_, i) => world.nbia.instance(uid, i).toString('base64')));
    const archived = matching[0]!.files.map((f) => f.bytes.toString('base64'));
    expect(archived).toHaveLength(spec.imageCount);
    expect(new Set(archived)).toEqual(served);
  }
  expect(world.xnat.prearchive(project)).toEqual([]);
}
