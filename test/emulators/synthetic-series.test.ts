import { deflateRawSync } from 'node:zlib';
import dcmjs from 'dcmjs';
import dicomParser from 'dicom-parser';
import type { NaturalizedDataset } from 'dcmjs';
import {
  buildCollection,
  instanceSize,
  makeInstance,
  seriesByteSize,
  seriesSpecFromUid,
  sopInstanceUid,
  uidFromSeed,
  type SeriesSpec,
} from '../../emulators/dicom/synthetic-series.js';

const UID = '1.3.6.1.4.1.14519.5.2.1.200342509692530171737702339931600829926';

function parse(bytes: Buffer): { meta: NaturalizedDataset; data: NaturalizedDataset } {
  const file = dcmjs.data.DicomMessage.readFile(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer);
  return {
    meta: dcmjs.data.DicomMetaDictionary.naturalizeDataset(file.meta),
    data: dcmjs.data.DicomMetaDictionary.naturalizeDataset(file.dict),
  };
}

function personName(value: unknown): string {
  const first = Array.isArray(value) ? (value[0] as unknown) : value;
  if (first === undefined) return '';
  return typeof first === 'string' ? first : ((first as { Alphabetic?: string }).Alphabetic ?? '');
}

function expectValidUid(uid: string): void {
  expect(uid.length).toBeLessThanOrEqual(64);
  expect(uid).toMatch(/^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$/);
}

const uids = (n: number): string[] => Array.from({ length: n }, (_, i) => `1.2.826.0.1.3680043.8.498.${i + 1}`);

describe('seriesSpecFromUid', () => {
  it('is deterministic, small by default and honours the shape', () => {
    const spec = seriesSpecFromUid(UID);
    expect(seriesSpecFromUid(UID)).toEqual(spec);
    expect(spec).toMatchObject({ seriesUid: UID, rows: 64, columns: 64, collection: 'CMB-CRC', license: 'CC BY 4.0' });
    expect(spec.imageCount).toBeGreaterThanOrEqual(3);
    expect(spec.imageCount).toBeLessThanOrEqual(12);
    expect(spec.studyDate).toMatch(/^(19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])$/);
    expectValidUid(spec.studyUid);

    const big = seriesSpecFromUid(UID, { rows: 512, columns: 512, imagesPerSeries: [40, 40], collection: 'CMB-AML' });
    expect(big).toMatchObject({ rows: 512, columns: 512, imageCount: 40, collection: 'CMB-AML' });
  });

  it('gives every UID its own patient and study', () => {
    const specs = uids(200).map((u) => seriesSpecFromUid(u));
    expect(new Set(specs.map((s) => s.patientId)).size).toBe(200);
    expect(new Set(specs.map((s) => s.studyUid)).size).toBe(200);
  });
});

describe('buildCollection', () => {
  it('groups series into studies and patients in manifest order', () => {
    const specs = buildCollection(uids(10), { seriesPerStudy: 2, studiesPerPatient: 2 });
    expect(specs.map((s) => s.patientId)).toEqual([
      ...Array(4).fill('MSB-00001'),
      ...Array(4).fill('MSB-00002'),
      ...Array(2).fill('MSB-00003'),
    ]);
    expect(new Set(specs.map((s) => s.studyUid)).size).toBe(5);
    expect(specs[0]?.studyUid).toBe(specs[1]?.studyUid);
    expect(specs[1]?.studyUid).not.toBe(specs[2]?.studyUid);
    expect(specs.map((s) => s.seriesNumber)).toEqual([1, 2, 1, 2, 1, 2, 1, 2, 1, 2]);
    for (const s of specs) expect(s.studyDate).toBe(specs.find((t) => t.studyUid === s.studyUid)?.studyDate);
  });

  it('puts some patients’ study dates out of manifest order, but not all', () => {
    const specs = buildCollection(uids(8), { seriesPerStudy: 1, studiesPerPatient: 2 });
    const dates = (patient: string): string[] => specs.filter((s) => s.patientId === patient).map((s) => s.studyDate);
    const [a1, a2] = dates('MSB-00001');
    const [b1, b2] = dates('MSB-00002');
    expect(a1 && a2 && a1 > a2).toBe(true);
    expect(b1 && b2 && b1 < b2).toBe(true);
    expect(buildCollection(uids(8), { seriesPerStudy: 1, studiesPerPatient: 2 })).toEqual(specs);
  });

  it('mixes in names XNAT must clean unless told not to, and applies overrides', () => {
    const specs = buildCollection(uids(8), { seriesPerStudy: 1, studiesPerPatient: 1 });
    expect(specs.map((s) => s.patientName)).toEqual([
      'CRC^0001', 'CRC^0002', 'CRC^0003', "O'BRIEN^ANN", 'CRC^0005', '', 'CRC^0007', 'VAN DER BERG^JAN',
    ]);
    const plain = buildCollection(uids(8), { seriesPerStudy: 1, studiesPerPatient: 1, awkwardNames: false });
    expect(plain.every((s) => /^CRC\^\d{4}$/.test(s.patientName))).toBe(true);

    const list = uids(4);
    const overridden = buildCollection(list, { seriesPerStudy: 1, studiesPerPatient: 2 }, {
      'MSB-00002': { patientName: 'SMITH JONES^AL' },
      [list[0] as string]: { imageCount: 1, modality: 'CT' },
    });
    expect(overridden.map((s) => s.patientName)).toEqual(['CRC^0001', 'CRC^0001', 'SMITH JONES^AL', 'SMITH JONES^AL']);
    expect(overridden[0]).toMatchObject({ imageCount: 1, modality: 'CT' });
  });

  it('drops duplicate UIDs', () => {
    const list = uids(3);
    expect(buildCollection([...list, list[0] as string]).map((s) => s.seriesUid)).toEqual(list);
  });
});

describe('makeInstance', () => {
  const spec: SeriesSpec = { ...seriesSpecFromUid(UID), modality: 'CT', patientName: "O'BRIEN^ANN", imageCount: 12 };

  it('writes Part 10 that dcmjs reads back with the right identifiers', () => {
    const bytes = makeInstance(spec, 10);
    expect(bytes.subarray(0, 128).every((b) => b === 0)).toBe(true);
    expect(bytes.subarray(128, 132).toString('latin1')).toBe('DICM');
    const { meta, data } = parse(bytes);
    expect(meta).toMatchObject({
      TransferSyntaxUID: '1.2.840.10008.1.2.1',
      MediaStorageSOPClassUID: '1.2.840.10008.5.1.4.1.1.2',
      MediaStorageSOPInstanceUID: sopInstanceUid(spec, 10),
    });
    expect(data).toMatchObject({
      SOPClassUID: '1.2.840.10008.5.1.4.1.1.2',
      SOPInstanceUID: sopInstanceUid(spec, 10),
      PatientID: spec.patientId,
      StudyInstanceUID: spec.studyUid,
      SeriesInstanceUID: spec.seriesUid,
      StudyDate: spec.studyDate,
      StudyDescription: spec.studyDescription,
      SeriesDescription: spec.seriesDescription,
      Modality: 'CT',
      SeriesNumber: spec.seriesNumber,
      InstanceNumber: 11,
      Rows: 64,
      Columns: 64,
      BitsAllocated: 16,
    });
    expect(personName(data.PatientName)).toBe("O'BRIEN^ANN");
    const pixels = data.PixelData as ArrayBuffer[];
    expect(pixels[0]?.byteLength).toBe(64 * 64 * 2);
    expectValidUid(sopInstanceUid(spec, 10));
  });

  it('picks the SOP class from the modality and keeps an empty PatientName', () => {
    const mr = parse(makeInstance({ ...spec, modality: 'MR', patientName: '' }, 0)).data;
    expect(mr.SOPClassUID).toBe('1.2.840.10008.5.1.4.1.1.4');
    expect(personName(mr.PatientName)).toBe('');
    expect(parse(makeInstance({ ...spec, modality: 'PT' }, 0)).data.SOPClassUID).toBe('1.2.840.10008.5.1.4.1.1.128');
  });

  it('is byte-identical across calls and distinct per index', () => {
    expect(makeInstance(spec, 3).equals(makeInstance(spec, 3))).toBe(true);
    expect(makeInstance(spec, 3).equals(makeInstance(spec, 4))).toBe(false);
    expect(new Set(Array.from({ length: 12 }, (_, i) => sopInstanceUid(spec, i))).size).toBe(12);
  });

  it('writes Implicit VR Little Endian, Explicit VR Big Endian and UTF-8 names that read back the same', () => {
    const name = 'Müller^Zoë=山田^太郎';
    const read = (syntax: SeriesSpec['transferSyntax']): dicomParser.DataSet => dicomParser.parseDicom(makeInstance({ ...spec, patientName: name, transferSyntax: syntax }, 2));
    const le = read('explicit-le');
    const pixels = (ds: dicomParser.DataSet): number[] => Array.from({ length: 64 }, (_, i) => ds.uint16('x7fe00010', i)!);
    expect(parse(makeInstance(spec, 2)).data.SpecificCharacterSet).toBeUndefined();
    for (const [syntax, uid] of [['explicit-le', '1.2.840.10008.1.2.1'], ['implicit-le', '1.2.840.10008.1.2'], ['explicit-be', '1.2.840.10008.1.2.2']] as const) {
      const ds = read(syntax);
      expect(ds.string('x00020010')).toBe(uid);
      expect([ds.string('x00080018'), ds.string('x0020000e'), ds.uint16('x00280010'), ds.string('x00080005')]).toEqual([sopInstanceUid(spec, 2), spec.seriesUid, 64, 'ISO_IR 192']);
      const element = ds.elements.x00100010!;
      expect(Buffer.from(ds.byteArray.subarray(element.dataOffset, element.dataOffset + element.length)).toString('utf8').trimEnd()).toBe(name);
      // The same pixel values, stored in the syntax's byte order.
      expect(pixels(ds)).toEqual(pixels(le));
    }
  });

  it('predicts its own size exactly', () => {
    const odd = [{ ...spec, patientName: 'Иванов^Пётр', transferSyntax: 'implicit-le' as const }, { ...spec, patientName: 'Zoë', transferSyntax: 'explicit-be' as const, imageCount: 3 }];
    const specs = [spec, ...buildCollection(uids(6)), { ...spec, rows: 512, columns: 512, imageCount: 2 }, ...odd];
    for (const s of specs) {
      let total = 0;
      for (let i = 0; i < s.imageCount; i++) {
        const length = makeInstance(s, i).length;
        expect(instanceSize(s, i)).toBe(length);
        total += length;
      }
      expect(seriesByteSize(s)).toBe(total);
    }
  });

  it('makes pixel data that compresses, but not trivially', () => {
    const bytes = makeInstance({ ...spec, rows: 256, columns: 256 }, 0);
    const ratio = deflateRawSync(bytes, { level: 1 }).length / bytes.length;
    expect(ratio).toBeGreaterThan(0.3);
    expect(ratio).toBeLessThan(0.9);
  });

  it('rejects an index outside the series', () => {
    expect(() => makeInstance(spec, 12)).toThrow(RangeError);
  });
});

describe('uidFromSeed', () => {
  it('makes valid, stable UIDs', () => {
    for (const seed of ['a', 'b', UID]) expectValidUid(uidFromSeed(seed));
    expect(uidFromSeed('x')).toBe(uidFromSeed('x'));
  });
});
