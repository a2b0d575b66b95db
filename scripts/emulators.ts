/** `npm run emulators [-- --nbia-port N --xnat-port N]`: both emulators for trying the CLI by hand. */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { startNbiaEmulator } from '../emulators/nbia/index.js';
import { startXnatEmulator } from '../emulators/xnat/index.js';

const args = await yargs(hideBin(process.argv))
  .scriptName('npm run emulators --')
  .option('nbia-port', { type: 'number', default: 0, describe: 'Port of the NBIA (TCIA) emulator; fixed ports keep the addresses the same between starts (0: any free port)' })
  .option('xnat-port', { type: 'number', default: 0, describe: 'Port of the XNAT emulator (0: any free port)' })
  .strict()
  .help()
  .parseAsync();

const nbia = await startNbiaEmulator({ port: args['nbia-port'], shape: { imagesPerSeries: [10, 40], rows: 256, columns: 256 } });
const xnat = await startXnatEmulator({ port: args['xnat-port'], users: [{ username: 'admin', password: 'admin', admin: true }] });
const token = xnat.issueAliasToken('admin');
console.log(`NBIA (TCIA) emulator: ${nbia.url}  (serves synthetic DICOM for any SeriesInstanceUID)`);
console.log(`XNAT emulator:        ${xnat.url}  (user admin, password admin; archived files in ${xnat.storageDir}, removed on exit)`);
console.log(`alias token:          user ${token.alias}  secret ${token.secret}  (what the Container Service injects)\n`);
console.log('Try:');
console.log(`  export XNAT_HOST=${xnat.url} XNAT_USER=admin XNAT_PASS=admin TCIA_URL=${nbia.url}`);
console.log(`  # or, as a container would: export XNAT_USER=${token.alias} XNAT_PASS=${token.secret}`);
console.log('  node dist/cli.js import resources/TCIA/CMB-CRC_CT_triple.tcia --project DEMO\n');
console.log('Press Ctrl-C to stop.');
const stop = async (): Promise<void> => {
  await Promise.all([nbia.close(), xnat.close()]);
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
