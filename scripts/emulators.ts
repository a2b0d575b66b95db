/** `npm run emulators [-- --nbia-port N --xnat-port N --idc-port N]`: the emulators for trying the CLI by hand. */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { startIdcEmulator } from '../emulators/idc/index.js';
import { seriesSpecFromUid, startNbiaEmulator } from '../emulators/nbia/index.js';
import { startXnatEmulator } from '../emulators/xnat/index.js';
import { readManifest } from '../src/manifest/read-manifest.js';

const args = await yargs(hideBin(process.argv))
  .scriptName('npm run emulators --')
  .option('nbia-port', { type: 'number', default: 0, describe: 'Port of the NBIA (TCIA) emulator; fixed ports keep the addresses the same between starts (0: any free port)' })
  .option('xnat-port', { type: 'number', default: 0, describe: 'Port of the XNAT emulator (0: any free port)' })
  .option('idc-port', { type: 'number', default: 0, describe: 'Port of the IDC emulator, index and buckets (0: any free port)' })
  .strict()
  .help()
  .parseAsync();

const shape = { imagesPerSeries: [10, 40] as [number, number], rows: 256, columns: 256 };
// IDC mirrors every other series of the smaller sample manifests, as the same bytes NBIA serves; the rest, and
// any other UID, only NBIA has, so `--source auto` shows both sources at work.
const inIdc: string[] = [];
const dir = join('resources', 'TCIA');
for (const name of (await readdir(dir)).filter((n) => n.endsWith('.tcia')).sort()) {
  const { seriesUids } = await readManifest(join(dir, name));
  if (seriesUids.length <= 500) inIdc.push(...seriesUids.filter((_, i) => i % 2 === 0));
}
const nbia = await startNbiaEmulator({ port: args['nbia-port'], shape });
const idc = await startIdcEmulator({ port: args['idc-port'], collection: [...new Set(inIdc)].map((uid) => seriesSpecFromUid(uid, shape)) });
const xnat = await startXnatEmulator({ port: args['xnat-port'], users: [{ username: 'admin', password: 'admin', admin: true }] });
const token = xnat.issueAliasToken('admin');
console.log(`NBIA (TCIA) emulator: ${nbia.url}  (serves synthetic DICOM for any SeriesInstanceUID)`);
console.log(`IDC emulator:         ${idc.url}  (index and S3 buckets; every other series of the sample manifests under 500 series)`);
console.log(`XNAT emulator:        ${xnat.url}  (user admin, password admin; archived files in ${xnat.storageDir}, removed on exit)`);
console.log(`alias token:          user ${token.alias}  secret ${token.secret}  (what the Container Service injects)\n`);
console.log('Try:');
console.log(`  export XNAT_HOST=${xnat.url} XNAT_USER=admin XNAT_PASS=admin TCIA_URL=${nbia.url} IDC_INDEX=${idc.indexUrl} IDC_ENDPOINT=${idc.url}`);
console.log(`  # or, as a container would: export XNAT_USER=${token.alias} XNAT_PASS=${token.secret}`);
console.log('  ./dist/cli.js import resources/TCIA/CMB-CRC_CT_triple.tcia --project DEMO --dry-run --plan-table');
console.log('  ./dist/cli.js import resources/TCIA/CMB-CRC_CT_triple.tcia --project DEMO\n');
console.log('Press Ctrl-C to stop.');
const stop = async (): Promise<void> => {
  await Promise.all([nbia.close(), idc.close(), xnat.close()]);
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
