import { constants, inflateRawSync, inflateSync } from 'node:zlib';
import dicomParser from 'dicom-parser';
import { convertBytes } from 'dicom-character-set';
import { readPastUnSequences } from './big-endian-un.js';

export interface DicomHeader {
  /** SOPInstanceUID, or '' when the file has none. */
  sopInstanceUid: string;
  seriesUid: string;
  studyUid: string;
  patientId: string;
  patientName: string;
  /** 'YYYYMMDD' or ''. */
  studyDate: string;
}

/** No parse goes past PixelData (7FE0,0010): only the header is read, whatever the image size. */
const PIXEL_DATA = 'x7fe00010';
/**
 * SeriesInstanceUID (0020,000E), the last of the fields read here in tag order. Stopping after it leaves out the
 * image's own groups (0020 onwards, 0028, private groups), which were most of the parse (docs/reference/dicom.md).
 */
const SERIES_UID = 'x0020000e';
/** The elements the header is made of; a file missing one before SeriesInstanceUID is read again up to PixelData. */
const WANTED = ['x00080020', 'x00100010', 'x00100020', 'x0020000d', SERIES_UID];
const EXPLICIT_LE = '1.2.840.10008.1.2.1';
const IMPLICIT_LE = '1.2.840.10008.1.2';
const EXPLICIT_BE = '1.2.840.10008.1.2.2';
/** Two-letter VRs, for telling an explicit-VR bare dataset from an implicit one. */
const VRS = new Set('AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL UN UR US UT UV'.split(' '));

/**
 * Reads the identifying header fields of a DICOM file, or returns undefined when the bytes cannot be read as
 * DICOM at all. Parsing is lazy (docs/reference/dicom.md#reading-headers): values are decoded only for the few
 * fields asked for, so a character set, a private tag or an odd VR elsewhere in the header cannot stop the
 * UIDs (plain ASCII) from being read. Like XNAT, it accepts a Part 10 file and a bare dataset without preamble.
 */
export function readDicomHeader(bytes: Buffer): DicomHeader | undefined {
  const first = parse(bytes, SERIES_UID);
  if (!first) return undefined;
  // Elements out of tag order, or a field the file lacks: the whole header is looked through.
  const dataSet = WANTED.every((tag) => within(first, tag)) ? first : parse(bytes, PIXEL_DATA);
  if (!dataSet) return undefined;
  // The first value, as dcm4che's getString gives it: a multi-valued UID files the object under its first.
  const text = (tag: string): string => (within(dataSet, tag) ? (dataSet.string(tag, 0) ?? '').trim() : '');
  const header: DicomHeader = {
    sopInstanceUid: text('x00080018'),
    seriesUid: text(SERIES_UID),
    studyUid: text('x0020000d'),
    patientId: text('x00100020'),
    patientName: personName(dataSet),
    studyDate: text('x00080020'),
  };
  // Without its UIDs a file is not something XNAT could file under a session and scan.
  return header.seriesUid && header.studyUid ? header : undefined;
}

/** Whether the element is there with its whole value inside the bytes read (a cut-off head may end inside it). */
function within(dataSet: dicomParser.DataSet, tag: string): boolean {
  const element = dataSet.elements[tag];
  return element !== undefined && element.dataOffset + Math.max(0, element.length) <= dataSet.byteArray.length;
}

function parse(bytes: Buffer, untilTag: string): dicomParser.DataSet | undefined {
  const options: dicomParser.ParseDicomOptions = { untilTag, inflater };
  const part10 = bytes.length >= 132 && bytes.toString('latin1', 128, 132) === 'DICM';
  if (!part10) {
    // A File Meta group without the preamble before it (dcm4che reads it as such): read as the Part 10 file it lacks.
    if (bytes.length >= 8 && bytes.readUInt16LE(0) === 0x0002) return parse(Buffer.concat([Buffer.alloc(128), Buffer.from('DICM', 'latin1'), bytes]), untilTag);
    return tryParse(bytes, { ...options, TransferSyntaxUID: bareSyntax(bytes) });
  }
  // 'DICM' straight followed by the dataset, with no File Meta group: its encoding is guessed as for a bare one.
  if (bytes.length >= 140 && bytes.readUInt16LE(132) !== 0x0002) {
    const body = bytes.subarray(132);
    return tryParse(body, { ...options, TransferSyntaxUID: bareSyntax(body) });
  }
  let meta: dicomParser.DataSet & { position?: number };
  try {
    meta = dicomParser.readPart10Header(bytes, { untilTag: PIXEL_DATA });
  } catch {
    return undefined;
  }
  if (meta.position === undefined) return undefined;
  // The dataset is read from where the meta group ends, in the syntax the meta names, trimmed of the space some
  // writers pad it with (dcm4che trims it; the parser would compare it untrimmed and read an implicit or big
  // endian dataset as explicit little endian). Without one it is read as explicit VR little endian, as dcm4che does.
  const syntax = meta.string('x00020010') || EXPLICIT_LE;
  return tryParse(bytes.subarray(meta.position), { ...options, TransferSyntaxUID: syntax });
}

/**
 * A value cut short after the identifying fields (the head of a larger file) still yields them. A big endian
 * parse that fails is read again past any UN sequence of undefined length, which the parser cannot read.
 */
function tryParse(bytes: Buffer, options: dicomParser.ParseDicomOptions): dicomParser.DataSet | undefined {
  try {
    return dicomParser.parseDicom(bytes, options);
  } catch (error) {
    const dataSet = (error as { dataSet?: dicomParser.DataSet }).dataSet;
    if (!dataSet || options.TransferSyntaxUID !== EXPLICIT_BE) return dataSet;
    return readPastUnSequences(dataSet, options.untilTag ?? PIXEL_DATA);
  }
}

/**
 * The transfer syntax of a dataset with no preamble and no file meta: explicit when a VR follows the first tag,
 * big endian when the first group only makes sense read that way (datasets start with a low group number).
 */
function bareSyntax(bytes: Buffer): string {
  if (bytes.length < 8) return IMPLICIT_LE;
  const explicit = VRS.has(bytes.toString('latin1', 4, 6));
  if (explicit && bytes.readUInt16BE(0) < bytes.readUInt16LE(0)) return EXPLICIT_BE;
  return explicit ? EXPLICIT_LE : IMPLICIT_LE;
}

/**
 * Deflated Explicit VR Little Endian: the dataset after the file meta is raw DEFLATE, or, from some writers, a
 * zlib stream, which dcm4che accepts too. A sync flush inflates as much as there is, so the head of a large
 * file still inflates up to its header.
 */
function inflater(array: Uint8Array, position: number | undefined): Uint8Array {
  // The dataset is handed over without its meta group (parse), so the parser has no position for it: it starts at 0.
  const start = position ?? 0;
  const source = Buffer.from(array.buffer, array.byteOffset, array.byteLength);
  const deflated = source.subarray(start);
  const options = { finishFlush: constants.Z_SYNC_FLUSH };
  const zlibHeader = deflated.length >= 2 && deflated.readUInt16BE(0) === 0x789c;
  const inflated = zlibHeader ? inflateSync(deflated, options) : inflateRawSync(deflated, options);
  return Buffer.concat([source.subarray(0, start), inflated]);
}

/**
 * PatientName as XNAT's subject extractor reads it (docs/reference/dicom.md#patientname): the first value, all
 * of its `=` component groups, decoded in the file's Specific Character Set, with trailing `^` and spaces
 * dropped. A name that cannot be decoded never refuses the file.
 */
function personName(dataSet: dicomParser.DataSet): string {
  const element = dataSet.elements.x00100010;
  if (!element || element.length <= 0 || !within(dataSet, 'x00100010')) return '';
  const raw = new Uint8Array(dataSet.byteArray.buffer, dataSet.byteArray.byteOffset + element.dataOffset, element.length);
  const value = decode(rawCharset(dataSet), raw) ?? decode('', raw) ?? '';
  return (value.split('\\')[0] ?? '').replace(/^ +/, '').replace(/[\^ ]+$/, '');
}

/** A set the decoder does not know is read as the default repertoire, as dcm4che does. */
function decode(charset: string, raw: Uint8Array): string | undefined {
  try {
    return convertBytes(charset, raw, { vr: 'PN' });
  } catch {
    return undefined;
  }
}

/** The whole Specific Character Set, every value (dataSet.string would give only the first). */
function rawCharset(dataSet: dicomParser.DataSet): string {
  const element = dataSet.elements.x00080005;
  if (!element) return '';
  return Buffer.from(dataSet.byteArray.buffer, dataSet.byteArray.byteOffset + element.dataOffset, element.length)
    .toString('latin1')
    .replace(/[\0 ]+$/, '');
}
