/** `npm run emulators`: starts both emulators for manual use and prints how to point the CLI at them. */
import { startNbiaEmulator } from '../emulators/nbia/index.js';
import { startXnatEmulator } from '../emulators/xnat/index.js';

const nbia = await startNbiaEmulator({ shape: { imagesPerSeries: [10, 40], rows: 256, columns: 256 } });
const xnat = await startXnatEmulator({ users: [{ username: 'admin', password: 'admin', admin: true }] });
const token = xnat.issueAliasToken('admin');
console.log(`NBIA (TCIA) emulator: ${nbia.url}  (serves synthetic DICOM for any SeriesInstanceUID)`);
console.log(`XNAT emulator:        ${xnat.url}  (user admin/admin; alias token ${token.alias})\n`);
console.log('Try:');
console.log(`  export XNAT_HOST=${xnat.url} XNAT_USER=admin XNAT_PASS=admin TCIA_URL=${nbia.url}`);
console.log('  node dist/cli.js import resources/TCIA/CMB-CRC_CT_triple.tcia --project DEMO\n');
console.log('Press Ctrl-C to stop.');
const stop = async (): Promise<void> => {
  await Promise.all([nbia.close(), xnat.close()]);
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
