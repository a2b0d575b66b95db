import { getEventListeners } from 'node:events';
import { startNbiaEmulator } from '../emulators/nbia/index.js';
import { NbiaClient } from '../src/tcia/nbia-client.js';
import { relaySeries } from '../src/transfer/relay-series.js';
import pino from 'pino';
const nbia = await startNbiaEmulator({ shape: { imagesPerSeries: [1, 2], rows: 16, columns: 16 } });
const client = new NbiaClient({ root: nbia.url, logger: pino({ level: 'silent' }) as never, stallTimeoutMs: 5000, attempts: 1 });
const run = new AbortController();
for (let i = 0; i < 3; i++) {
  const uid = `1.2.3.${i}`;
  const dl = await client.openSeries(uid, run.signal);
  console.log('after open', getEventListeners(run.signal, 'abort').length);
  await relaySeries(dl, { seriesUid: uid, studyUid: '', imageCount: 0 }, async (zip) => { zip.resume(); await new Promise((r) => zip.on('end', r)); return 'uri'; }, run.signal);
  console.log('after relay', getEventListeners(run.signal, 'abort').length, 'dl', dl.readableEnded, dl.destroyed);
  await new Promise((r) => setTimeout(r, 100));
  console.log('later', getEventListeners(run.signal, 'abort').length, 'dl', dl.readableEnded, dl.destroyed);
}
await nbia.close();
