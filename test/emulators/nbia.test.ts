import { V1_METADATA_COLUMNS, V4_METADATA_COLUMNS, buildCollection, seriesByteSize, sopInstanceUid } from '../../emulators/nbia/index.js';
import { Readable } from 'node:stream';
import { readWithJava } from '../jdk/read-with-java.js';
import { emu, get, instanceIndexes, md5, parseMd5Csv, postMetadata, start, UID, unzipAll, useNbiaEmulator, V1, V4, zipFlags } from '../support/nbia-emulator-helpers.js';

useNbiaEmulator();

describe('v4 getImage', () => {
  it('streams a chunked zip: LICENSE, %08d.dcm in database order, md5hashes.csv last', async () => {
    const res = await get(`${V4}/getImage?SeriesInstanceUID=${UID}&IncludeMD5=Yes`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/octet-stream');
    expect(res.headers['content-disposition']).toBe(`attachment; filename="${UID}.zip"`);
    expect(res.headers['content-length']).toBeUndefined();
    expect(res.headers['transfer-encoding']).toBe('chunked');

    const spec = emu.spec(UID);
    const files = await unzipAll(res.body);
    const dicom = files.slice(1, -1);
    expect(files[0]?.name).toBe('LICENSE');
    expect(files[0]?.data.toString()).toContain(`${spec?.collection} is licensed under CC BY 4.0`);
    expect(dicom.map((f) => f.name)).toEqual(
      Array.from({ length: spec?.imageCount ?? 0 }, (_, i) => `${String(i + 1).padStart(8, '0')}.dcm`),
    );
    expect(files.at(-1)?.name).toBe('md5hashes.csv');

    const indexes = instanceIndexes(UID, dicom);
    expect([...indexes].sort((a, b) => a - b)).toEqual(dicom.map((_, i) => i));
    expect(indexes).not.toEqual(dicom.map((_, i) => i));
    for (const [k, f] of dicom.entries()) expect(f.data.equals(emu.instance(UID, indexes[k] as number))).toBe(true);

    const hashes = parseMd5Csv(files.at(-1)?.data.toString() ?? '');
    expect([...hashes.keys()]).not.toEqual(dicom.map((f) => f.name));
    expect(new Set(hashes.keys())).toEqual(new Set(dicom.map((f) => f.name)));
    for (const f of dicom) expect(hashes.get(f.name)).toBe(md5(f.data));

    for (const entry of zipFlags(res.body)) {
      expect(entry.local & 0x0008).toBe(0x0008);
      expect(entry.central & 0x0008).toBe(0x0008);
      expect(entry.localSizes).toEqual([0, 0, 0]);
    }
  });

  it("leaves the data descriptors' signature out when told to, the rest of the zip as Java reads it unchanged", async () => {
    const signed = await get(`${V4}/getImage?SeriesInstanceUID=${UID}&IncludeMD5=Yes`);
    await start({ zipDescriptors: 'unsigned' });
    const res = await get(`${V4}/getImage?SeriesInstanceUID=${UID}&IncludeMD5=Yes`);
    expect(res.statusCode).toBe(200);
    const [fromSigned, fromUnsigned] = await Promise.all([signed.body, res.body].map((body) => readWithJava(Readable.from([body]))));
    expect(fromUnsigned?.error).toBeUndefined();
    expect(fromUnsigned?.entries).toEqual(fromSigned?.entries);
    const entries = zipFlags(res.body);
    // No descriptor signature anywhere, and every entry still defers its sizes to a descriptor (bit 3).
    expect(res.body.indexOf(Buffer.from('PK\x07\x08', 'latin1'))).toBe(-1);
    expect(entries.every((e) => e.local === 0x0808)).toBe(true);
  });

  it('serves the same bytes every time', async () => {
    const [a, b] = await Promise.all([1, 2].map(() => get(`${V4}/getImage?SeriesInstanceUID=${UID}`)));
    expect(a?.body.equals(b?.body as Buffer)).toBe(true);
    const names = (await unzipAll(a?.body as Buffer)).map((f) => f.name);
    expect(names).not.toContain('md5hashes.csv');
  });

  it('names files 1-NN.dcm in instance order with NewFileNames=Yes', async () => {
    const [uid] = ['1.2.3.44'];
    await start({ shape: { imagesPerSeries: [12, 12] } });
    const res = await get(`${V4}/getImage?SeriesInstanceUID=${uid}&NewFileNames=Yes&IncludeMD5=Yes`);
    const files = await unzipAll(res.body);
    const dicom = files.slice(1, -1);
    expect(dicom.map((f) => f.name)).toEqual(Array.from({ length: 12 }, (_, i) => `1-${String(i + 1).padStart(2, '0')}.dcm`));
    expect(instanceIndexes(uid as string, dicom)).toEqual(dicom.map((_, i) => i));
    expect(new Set(parseMd5Csv(files.at(-1)?.data.toString() ?? '').keys())).toEqual(new Set(dicom.map((f) => f.name)));
  });

  it('rejects parameters outside its allowed set', async () => {
    const res = await get(`${V4}/getImage?SeriesInstanceUID=${UID}&format=zip`);
    expect(res.statusCode).toBe(400);
    expect(res.body.toString()).toBe(
      "Invalid query parameter: 'format'. Allowed parameters are: [SeriesInstanceUID, NewFileNames, IncludeMD5]",
    );
    const md5Only = await get(`${V4}/getImageWithMD5Hash?SeriesInstanceUID=${UID}&IncludeMD5=Yes`);
    expect(md5Only.statusCode).toBe(400);
    expect(md5Only.body.toString()).toContain('Allowed parameters are: [SeriesInstanceUID]');
  });

  it('requires SeriesInstanceUID', async () => {
    const res = await get(`${V4}/getImage`);
    expect(res.statusCode).toBe(400);
    expect(res.body.toString()).toBe('A parameter, SeriesInstanceUID, is required for this API call.');
  });

  it('refuses unknown and non-public series with 400 before streaming', async () => {
    const collection = buildCollection(['1.2.3.1', '1.2.3.2']);
    await start({ collection, unknownUids: ['1.2.3.2'] });
    for (const uid of ['9.9.9', '1.2.3.2']) {
      const res = await get(`${V4}/getImage?SeriesInstanceUID=${uid}`);
      expect(res.statusCode).toBe(400);
      expect(res.headers['content-type']).toBe('application/json');
      expect(res.body.toString()).toMatch(
        new RegExp(`^The user has not been granted the access to image with given SeriesInstanceUID,${uid.replace(/\./g, '\\.')}\\. Please contact System Admin`),
      );
    }
    expect((await get(`${V4}/getImage?SeriesInstanceUID=1.2.3.1`)).statusCode).toBe(200);
    expect(emu.spec('1.2.3.2')).toBeUndefined();
  });
});

describe('getImageWithMD5Hash and v1 getImage', () => {
  it('getImageWithMD5Hash has no LICENSE and ends with md5hashes.csv', async () => {
    const files = await unzipAll((await get(`${V4}/getImageWithMD5Hash?SeriesInstanceUID=${UID}`)).body);
    expect(files[0]?.name).toBe('00000001.dcm');
    expect(files.at(-1)?.name).toBe('md5hashes.csv');
    const hashes = parseMd5Csv(files.at(-1)?.data.toString() ?? '');
    for (const f of files.slice(0, -1)) expect(hashes.get(f.name)).toBe(md5(f.data));
  });

  it('v1 ignores unknown parameters and words its 400 differently', async () => {
    const ok = await get(`${V1}/getImage?SeriesInstanceUID=${UID}&api_key=x&IncludeMD5=Yes`);
    expect(ok.statusCode).toBe(200);
    const names = (await unzipAll(ok.body)).map((f) => f.name);
    expect(names[0]).toBe('LICENSE');
    expect(names).not.toContain('md5hashes.csv');
    await start({ unknownUids: ['7.7'] });
    const refused = await get(`${V1}/getImage?SeriesInstanceUID=7.7`);
    expect(refused.statusCode).toBe(400);
    expect(refused.body.toString()).toBe('Image with given SeriesInstanceUID,7.7, is not in public domain.');
  });

  it('answers 404 on v4 when started without it, while v1 still works', async () => {
    await start({ v4: false });
    expect((await get(`${V4}/getImage?SeriesInstanceUID=${UID}`)).statusCode).toBe(404);
    expect((await get(`${V1}/getImage?SeriesInstanceUID=${UID}`)).statusCode).toBe(200);
    expect((await get('/nbia-api/services/v4/nothing')).statusCode).toBe(404);
    expect((await get('/elsewhere')).statusCode).toBe(404);
  });
});

describe('metadata', () => {
  it('v4 getSeriesMetadata returns fully quoted CSV with the 40 columns', async () => {
    const collection = buildCollection(['1.2.3.1', '1.2.3.2', '1.2.3.3', '1.2.3.4'], {
      seriesPerStudy: 1,
      studiesPerPatient: 1,
    });
    await start({ collection });
    const res = await postMetadata(['1.2.3.4', 'unknown.1', '1.2.3.1']);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-disposition']).toBe('attachment; filename="SeriesMetaData.csv"');
    const text = res.body.toString();
    const lines = text.split('\n');
    expect(lines).toHaveLength(4);
    expect(lines.at(-1)).toBe('');
    for (const line of lines.slice(0, -1)) expect(line).toMatch(/^"(?:[^"]|"")*"(?:,"(?:[^"]|"")*")*$/);
    const cells = (line: string): string[] => line.slice(1, -1).split('","').map((c) => c.replace(/""/g, '"'));
    expect(cells(lines[0] as string)).toEqual([...V4_METADATA_COLUMNS]);
    const rows = lines.slice(1, -1).map((l) => Object.fromEntries(V4_METADATA_COLUMNS.map((c, i) => [c, cells(l)[i]])));
    expect(rows.map((r) => r.SeriesInstanceUID)).toEqual(['1.2.3.4', '1.2.3.1']);
    const spec = collection[3];
    expect(rows[0]).toMatchObject({
      PatientID: spec?.patientId,
      PatientName: "O'BRIEN^ANN",
      StudyInstanceUID: spec?.studyUid,
      StudyDate: `${spec?.studyDate.slice(4, 6)}-${spec?.studyDate.slice(6)}-${spec?.studyDate.slice(0, 4)}`,
      ImageCount: String(spec?.imageCount),
      FileSize: String(seriesByteSize(spec as NonNullable<typeof spec>)),
      LicenseName: 'CC BY 4.0',
      Collection: 'CMB-CRC',
    });
    let total = 0;
    for (let i = 0; i < (spec?.imageCount ?? 0); i++) total += emu.instance('1.2.3.4', i).length;
    expect(rows[0]?.FileSize).toBe(String(total));
    expect(emu.requests.at(-1)).toMatchObject({ method: 'POST', status: 200, listSize: 3 });
  });

  it('answers 200 with an empty body when nothing matches', async () => {
    await start({ collection: [] });
    const res = await postMetadata(['9.9', '9.8']);
    expect(res.statusCode).toBe(200);
    expect(res.body.length).toBe(0);
  });

  it('takes 10,000 UIDs in one form body', async () => {
    const list = Array.from({ length: 10_000 }, (_, i) => `1.2.826.0.1.3680043.8.498.${1_000_000_000 + i}`);
    const res = await postMetadata(list);
    expect(res.statusCode).toBe(200);
    expect(res.body.toString().split('\n')).toHaveLength(10_002);
  });

  it('v1 getSeriesMetaData: one object with spaced names, string values, no PatientName; 204 when unknown', async () => {
    const res = await get(`${V1}/getSeriesMetaData?SeriesInstanceUID=${UID}`);
    expect(res.statusCode).toBe(200);
    const rows = JSON.parse(res.body.toString()) as Record<string, unknown>[];
    expect(rows).toHaveLength(1);
    const row = rows[0] ?? {};
    for (const value of Object.values(row)) expect(typeof value).toBe('string');
    const keys = Object.keys(row);
    expect(keys).toEqual(V1_METADATA_COLUMNS.filter((c) => keys.includes(c)));
    expect(keys).not.toContain('PatientName');
    const spec = emu.spec(UID);
    expect(row).toMatchObject({
      'Series UID': UID,
      'Subject ID': spec?.patientId,
      'Study UID': spec?.studyUid,
      'Number of Images': String(spec?.imageCount),
      'File Size': String(seriesByteSize(spec as NonNullable<typeof spec>)),
      'License Name': 'CC BY 4.0',
      'Series Number': String(spec?.seriesNumber),
    });
    expect(row['Study Description']).toMatch(/^[A-Za-z0-9 .-]*$/);

    const csv = await get(`${V1}/getSeriesMetaData?SeriesInstanceUID=${UID}&format=csv`);
    expect(csv.body.toString().split('\n')[0]).toBe(V1_METADATA_COLUMNS.map((c) => `"${c}"`).join(','));

    await start({ collection: [] });
    const unknown = await get(`${V1}/getSeriesMetaData?SeriesInstanceUID=${UID}`);
    expect(unknown.statusCode).toBe(204);
  });

  it('getSeriesSize and getSOPInstanceUIDs agree with the zip', async () => {
    const spec = emu.spec(UID);
    if (!spec) throw new Error('spec');
    const size = JSON.parse((await get(`${V4}/getSeriesSize?SeriesInstanceUID=${UID}`)).body.toString()) as unknown;
    expect(size).toEqual([{ TotalSizeInBytes: seriesByteSize(spec), ObjectCount: spec.imageCount }]);
    const sops = JSON.parse((await get(`${V4}/getSOPInstanceUIDs?SeriesInstanceUID=${UID}`)).body.toString()) as {
      SOPInstanceUID: string;
    }[];
    const all = Array.from({ length: spec.imageCount }, (_, i) => sopInstanceUid(spec, i));
    expect(new Set(sops.map((s) => s.SOPInstanceUID))).toEqual(new Set(all));
    expect((await get(`${V4}/getSeriesSize?SeriesInstanceUID=${UID}&api_key=1`)).statusCode).toBe(400);
  });

  it('getSingleImage serves the file getImage serves for that SOPInstanceUID', async () => {
    const spec = emu.spec(UID);
    if (!spec) throw new Error('spec');
    const sop = sopInstanceUid(spec, 1);
    const res = await get(`${V1}/getSingleImage?SeriesInstanceUID=${UID}&SOPInstanceUID=${sop}`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/dicom');
    expect(res.headers['content-disposition']).toBe(`attachment; filename=${sop}.dcm`);
    expect(res.body.equals(emu.instance(UID, 1))).toBe(true);
    expect((await get(`${V1}/getSingleImage?SeriesInstanceUID=${UID}`)).statusCode).toBe(400);
    expect((await get(`${V4}/getSingleImage?SeriesInstanceUID=${UID}&SOPInstanceUID=${sop}&format=json`)).statusCode).toBe(400);
    expect((await get(`${V1}/getSingleImage?SeriesInstanceUID=${UID}&SOPInstanceUID=2.25.1`)).statusCode).toBe(404);
  });
});
