/**
 * readDicomHeader on small datasets written byte by byte here, so each case controls exactly what the reader
 * sees: a Part 10 file, a bare dataset without preamble or file meta, a name in ISO 2022 Japanese, and bytes
 * that are not DICOM.
 */
import { readDicomHeader } from '../../src/transfer/dicom-header.js';

/** One explicit VR little endian element; values are padded to even length as DICOM requires. */
function element(group: number, elementNo: number, vr: string, value: Buffer | string): Buffer {
  let bytes = typeof value === 'string' ? Buffer.from(value, 'latin1') : value;
  if (bytes.length % 2 === 1) bytes = Buffer.concat([bytes, Buffer.from(vr === 'UI' ? [0] : [0x20])]);
  const head = Buffer.alloc(8);
  head.writeUInt16LE(group, 0);
  head.writeUInt16LE(elementNo, 2);
  head.write(vr, 4, 'latin1');
  head.writeUInt16LE(bytes.length, 6);
  return Buffer.concat([head, bytes]);
}

const SERIES = '1.2.826.0.1.3680043.8.498.1';
const STUDY = '1.2.826.0.1.3680043.8.498.2';

function dataset(name: Buffer | string = 'DOE^JANE^^^', charset?: string): Buffer {
  return Buffer.concat([
    ...(charset === undefined ? [] : [element(0x0008, 0x0005, 'CS', charset)]),
    element(0x0008, 0x0018, 'UI', '1.2.826.0.1.3680043.8.498.3'),
    element(0x0008, 0x0020, 'DA', '20010203'),
    element(0x0008, 0x0060, 'CS', 'MR'),
    element(0x0010, 0x0010, 'PN', name),
    element(0x0010, 0x0020, 'LO', 'PAT-7'),
    element(0x0020, 0x000d, 'UI', STUDY),
    element(0x0020, 0x000e, 'UI', SERIES),
  ]);
}

function part10(body: Buffer): Buffer {
  const syntax = element(0x0002, 0x0010, 'UI', '1.2.840.10008.1.2.1');
  const length = Buffer.alloc(4);
  length.writeUInt32LE(syntax.length, 0);
  return Buffer.concat([Buffer.alloc(128), Buffer.from('DICM', 'latin1'), element(0x0002, 0x0000, 'UL', length), syntax, body]);
}

describe('readDicomHeader', () => {
  const expected = { seriesUid: SERIES, studyUid: STUDY, patientId: 'PAT-7', patientName: 'DOE^JANE', studyDate: '20010203' };

  it('reads a Part 10 file, dropping the trailing empty name components', () => {
    expect(readDicomHeader(part10(dataset()))).toMatchObject(expected);
  });

  it('reads a bare dataset without preamble or file meta, as XNAT accepts it', () => {
    expect(readDicomHeader(dataset())).toMatchObject(expected);
  });

  it('decodes an ISO 2022 Japanese name with all its component groups', () => {
    const esc = (text: string): Buffer => Buffer.from(text.replace(/\$B/g, '\x1b$B').replace(/\(B/g, '\x1b(B'), 'latin1');
    const name = esc('Yamada^Tarou=$B;3ED(B^$BB@O:(B=$B$d$^$@(B^$B$?$m$&(B');
    expect(readDicomHeader(part10(dataset(name, '\\ISO 2022 IR 87')))?.patientName).toBe('Yamada^Tarou=山田^太郎=やまだ^たろう');
  });

  it('refuses bytes that are not DICOM, and a dataset without its UIDs', () => {
    expect(readDicomHeader(Buffer.from('<html><body>502 Bad Gateway</body></html>'))).toBeUndefined();
    expect(readDicomHeader(part10(element(0x0010, 0x0020, 'LO', 'PAT-7')))).toBeUndefined();
  });

  it('reads a field that comes after SeriesInstanceUID in a file whose elements are out of tag order', () => {
    const body = dataset();
    const patientId = element(0x0010, 0x0020, 'LO', 'PAT-7');
    const at = body.indexOf(patientId);
    const reordered = Buffer.concat([body.subarray(0, at), body.subarray(at + patientId.length), patientId]);
    expect(readDicomHeader(part10(reordered))).toMatchObject(expected);
  });

  it('gives no header, rather than failing, when the bytes end inside the SeriesInstanceUID value', () => {
    const file = part10(dataset());
    // The caller then reads a longer start of the file.
    expect(readDicomHeader(file.subarray(0, file.length - 6))).toBeUndefined();
    expect(readDicomHeader(file)).toMatchObject(expected);
  });
});
