/**
 * `npm run demo`: starts the NBIA, IDC and XNAT emulators on loopback and imports a real TCIA manifest from
 * resources/ into a fresh XNAT project with the built CLI, then shows what landed in XNAT and from which source.
 */
import { spawn } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { startIdcEmulator } from '../emulators/idc/index.js';
import { buildCollection, startNbiaEmulator } from '../emulators/nbia/index.js';
import { startXnatEmulator } from '../emulators/xnat/index.js';
import { readManifest } from '../src/manifest/read-manifest.js';

const manifestPath = resolve(process.argv[2] ?? join('resources', 'TCIA', 'CMB-AML_v04_20240828.tcia'));
const project = 'TCIA_DEMO';
const outputDir = resolve('demo-output');
const password = 'demo-password';

const manifest = await readManifest(manifestPath);
// A synthetic collection shaped like the real one: a few series per study, two studies per patient.
const collection = buildCollection(manifest.seriesUids, { seriesPerStudy: 3, studiesPerPatient: 2, imagesPerSeries: [8, 40], rows: 256, columns: 256, collection: 'CMB-AML' });
const nbia = await startNbiaEmulator({ collection });
// IDC mirrors most of the collection; the last third of the manifest only NBIA has, so series arrive from both.
const idc = await startIdcEmulator({ collection: collection.slice(0, Math.ceil((collection.length * 2) / 3)) });
const xnat = await startXnatEmulator({ users: [{ username: 'demo', password, admin: true }] });
await rm(outputDir, { recursive: true, force: true });
console.log(`emulators: TCIA ${nbia.url}  IDC ${idc.url}  XNAT ${xnat.url}`);
console.log(`importing ${manifest.fileName} (${manifest.seriesUids.length} series) into project ${project}\n`);

const exitCode = await new Promise<number>((done) => {
  const child = spawn(resolve('dist', 'cli.js'), ['import', manifestPath, '--project', project, '--output-dir', outputDir, '--progress', 'off'], {
    env: { ...process.env, XNAT_HOST: xnat.url, XNAT_USER: 'demo', XNAT_PASS: password, TCIA_URL: nbia.url, XTD_SOURCE: 'auto', IDC_INDEX: idc.indexUrl, IDC_ENDPOINT: idc.url },
    stdio: 'inherit',
  });
  child.on('close', (code) => done(code ?? 1));
});

const sessions = xnat.archive(project);
const scans = sessions.flatMap((s) => s.scans);
const files = scans.flatMap((s) => s.files);
const bytes = files.reduce((n, f) => n + f.bytes.length, 0);
interface DemoReport {
  totals: { seconds: number; mbPerSecond: number; bySource?: Record<string, { imported: number; files: number; bytes: number; mbPerSecond: number }> };
  series: { source: string; verified: string }[];
}
const report = JSON.parse(await readFile(join(outputDir, 'latest', 'report.json'), 'utf8')) as DemoReport;
console.log(`\nXNAT project ${project} now holds:`);
for (const s of sessions.sort((a, b) => a.label.localeCompare(b.label))) {
  console.log(`  subject ${s.subject.padEnd(12)} session ${s.label.padEnd(14)} ${s.date}  ${s.scans.length} scan(s), ${s.scans.reduce((n, x) => n + x.files.length, 0)} files`);
}
console.log(`\n${sessions.length} sessions, ${scans.length} series, ${files.length} files, ${(bytes / 1e6).toFixed(1)} MB in ${report.totals.seconds} s (${report.totals.mbPerSecond} MB/s)`);
for (const [source, t] of Object.entries(report.totals.bySource ?? {})) {
  const verified = [...new Set(report.series.filter((r) => r.source === source).map((r) => r.verified))].join(', ');
  console.log(`  from ${source.toUpperCase().padEnd(4)} ${t.imported} series, ${t.files} files, ${(t.bytes / 1e6).toFixed(1)} MB (${t.mbPerSecond} MB/s), verified by ${verified}`);
}
console.log(`prearchive entries left: ${xnat.prearchive(project).length}`);
console.log(`project resources: ${['MANIFEST_ORIGINAL', 'MANIFEST_MODIFIED', 'TCIA_IMPORT_LOGS'].map((r) => `${r} (${xnat.projectResource(project, r)?.size ?? 0} files)`).join(', ')}`);
const latest = join(outputDir, 'latest');
console.log(`report: ${join(latest, 'report.csv')}, ${join(latest, 'report.json')}; log: ${join(latest, 'run.log.jsonl')}`);
console.log(`exit code ${exitCode}`);
await nbia.close();
await idc.close();
await xnat.close();
process.exitCode = exitCode;
