/**
 * What a file's header says is a verdict only once TCIA's MD5 list has confirmed the file
 * (docs/reference/dicom.md#verdicts): damage in transit is retried, a verified file XNAT can judge goes to XNAT.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeInstance, seriesSpecFromUid } from '../../emulators/dicom/synthetic-series.js';
import { tempDir, writeTciaManifest } from '../support/run-cli.js';
import { expectArchivedAsServed, FAST, startWorld, type World } from '../support/world.js';

const UID = '1.3.6.1.4.1.14519.5.2.1.7.2001';
let world: World;
afterEach(async () => world?.close());

async function importOne(project: string, uid = UID): Promise<Awaited<ReturnType<World['run']>>> {
  const manifest = await writeTciaManifest(world.out, 'one.tcia', [uid]);
  return world.run(['import', manifest, '--project', project, '--output-dir', world.out, ...FAST]);
}

describe('a header damaged in transit is a transfer error, not a verdict', () => {
  const one = { shape: { imagesPerSeries: [1, 1] as [number, number], rows: 16, columns: 16 } };
  /** Where in the served file the flipped byte goes. */
  const places: [string, (file: Buffer) => number][] = [
    ["the 'DICM' prefix (the file no longer reads as DICOM)", () => 128],
    ['the SeriesInstanceUID (the file names another series)', (file) => file.indexOf(Buffer.from(UID, 'latin1')) + UID.length - 1],
    ['the StudyInstanceUID (the file names another study)', (file) => {
      const study = seriesSpecFromUid(UID, one.shape).studyUid;
      return file.indexOf(Buffer.from(study, 'latin1')) + study.length - 1;
    }],
  ];

  it.each(places)('one byte flipped in %s on the first download: the series is retried and imported', async (_where, offsetIn) => {
    world = await startWorld({ nbia: one });
    const offset = offsetIn(world.nbia.instance(UID, 0));
    expect(offset).toBeGreaterThan(127);
    world.nbia.faults.set({ corruptByte: { entryIndex: 0, offset, count: 1, seriesUid: UID } });
    const result = await importOne('DAMAGED');
    expect(world.nbia.faults.fired.map((f) => f.kind)).toEqual(['corruptByte']);
    expect(result.stdout).toMatch(/attempt 1 .*failed, retrying: .*MD5 [0-9a-f]{32} does not match TCIA's/);
    expect(result.exitCode).toBe(0);
    expectArchivedAsServed(world, 'DAMAGED', [UID]);
    expect(result.stderr).toBe('');
  });

  it('a file that names another series and matches its MD5 fails the series at once, with the file named', async () => {
    const folder = await tempDir('xtd-other-series-');
    await mkdir(join(folder, 's'));
    // The served file belongs to another series than the one NBIA lists it under.
    const other = seriesSpecFromUid('1.3.6.1.4.1.14519.5.2.1.7.2999', one.shape);
    await writeFile(join(folder, 's', '1.dcm'), makeInstance(other, 0));
    world = await startWorld({ nbia: { directories: [{ dir: join(folder, 's'), seriesUid: UID, studyUid: other.studyUid, patientId: 'P1' }] } });
    const result = await importOne('OTHER');
    expect(result.exitCode).toBe(1);
    const report = JSON.parse(await readFile(join(world.out, 'latest', 'report.json'), 'utf8')) as { series: { error: string; attempts: number }[] };
    expect(report.series[0]).toMatchObject({ attempts: 1 });
    expect(report.series[0]!.error).toMatch(/00000001\.dcm belongs to series 1\.3\.6\.1\.4\.1\.14519\.5\.2\.1\.7\.2999/);
    expect(world.xnat.archive('OTHER')).toEqual([]);
  });
});

describe('a verified file whose header cannot be read', () => {
  it('goes to XNAT with a warning that names it, and XNAT decides', async () => {
    const folder = await tempDir('xtd-unreadable-');
    const spec = seriesSpecFromUid(UID, { imagesPerSeries: [1, 1], rows: 16, columns: 16 });
    await writeFile(join(folder, '1.dcm'), makeInstance(spec, 0));
    await writeFile(join(folder, '2.dcm'), 'scanner notes, not DICOM\n');
    world = await startWorld({ nbia: { directories: [{ dir: folder, seriesUid: UID, studyUid: spec.studyUid, patientId: spec.patientId }] } });
    const result = await importOne('UNREAD');
    expect(result.stdout).toMatch(/0000000[12]\.dcm: its DICOM header could not be read, but it matches TCIA's MD5; XNAT decides/);
    // The XNAT emulator, like XNAT's DICOM-zip importer, refuses an object it cannot read.
    const uploads = world.xnat.requests.filter((r) => r.path === '/data/services/import');
    expect(uploads.length).toBeGreaterThan(0);
    expect(uploads.every((r) => r.status === 400)).toBe(true);
    expect(result.exitCode).toBe(1);
    const report = JSON.parse(await readFile(join(world.out, 'latest', 'report.json'), 'utf8')) as { series: { error: string }[] };
    expect(report.series[0]!.error).toMatch(/unable to read DICOM object/);
  });
});
