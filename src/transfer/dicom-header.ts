import dcmjs from 'dcmjs';

export interface DicomHeader {
  sopInstanceUid: string;
  seriesUid: string;
  studyUid: string;
  patientId: string;
  patientName: string;
  modality: string;
  /** 'YYYYMMDD' or ''. */
  studyDate: string;
}

/** The parse stops at PixelData (7FE0,0010): only the header is read, whatever the image size. */
const PIXEL_DATA = '7FE00010';
/** Most headers fit here; larger ones are parsed from the whole buffer. */
const HEADER_GUESS = 64 * 1024;

/**
 * Reads the identifying header fields of a DICOM Part 10 file, or returns undefined when the bytes are not
 * Part 10 DICOM (no 'DICM' after the 128-byte preamble).
 */
export function readDicomHeader(bytes: Buffer): DicomHeader | undefined {
  if (bytes.length < 132 || bytes.toString('latin1', 128, 132) !== 'DICM') return undefined;
  const guess = bytes.length > HEADER_GUESS ? tryParse(bytes.subarray(0, HEADER_GUESS)) : undefined;
  const dict = guess ?? tryParse(bytes);
  if (!dict) return undefined;
  const natural = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dict);
  return {
    sopInstanceUid: text(natural.SOPInstanceUID),
    seriesUid: text(natural.SeriesInstanceUID),
    studyUid: text(natural.StudyInstanceUID),
    patientId: text(natural.PatientID),
    patientName: personName(natural.PatientName),
    modality: text(natural.Modality),
    studyDate: text(natural.StudyDate),
  };
}

function tryParse(bytes: Buffer): ReturnType<typeof dcmjs.data.DicomMessage.readFile>['dict'] | undefined {
  // dcmjs wants an ArrayBuffer of exactly the bytes to read.
  const view = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer;
  try {
    const parsed = dcmjs.data.DicomMessage.readFile(view, { untilTag: PIXEL_DATA, includeUntilTagValue: false });
    return parsed.dict;
  } catch {
    return undefined;
  }
}

function text(value: unknown): string {
  if (Array.isArray(value)) return text(value[0]);
  return value === undefined || value === null ? '' : String(value).trim();
}

/** PN values come back as {Alphabetic: 'FAMILY^GIVEN'}; XNAT's DICOM identifier uses that string. */
function personName(value: unknown): string {
  const first = Array.isArray(value) ? value[0] : value;
  if (first && typeof first === 'object' && 'Alphabetic' in first) return String((first as { Alphabetic?: unknown }).Alphabetic ?? '').trim();
  return text(first);
}
