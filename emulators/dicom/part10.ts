// The Part 10 bytes of a synthetic series' files, deterministic from its spec (series-spec.ts).
import { endianness } from 'node:os';
import dcmjs from 'dcmjs';
import type { DenaturalizedDataset } from 'dcmjs';
import { digest, seriesExtras, sopInstanceUid, UID_PLACEHOLDER, type SeriesExtras, type SeriesSpec, type TransferSyntax } from './series-spec.js';

const TRANSFER_SYNTAX_UIDS: Record<TransferSyntax, string> = {
  'explicit-le': '1.2.840.10008.1.2.1',
  'implicit-le': '1.2.840.10008.1.2',
  'explicit-be': '1.2.840.10008.1.2.2',
};

const IMPLEMENTATION_CLASS_UID = '2.25.271828182845904523536028747135266249';
const IMPLEMENTATION_VERSION = 'XTD_SYNTH_1';

type Element = [tag: string, vr: string, values: (string | number)[]];

// Explicit VR: these VRs use a 12-byte element header, the rest 8 (PS3.5 §7.1.2); implicit VR: all 8 (PS3.5 §7.1.3).
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);

function syntaxOf(spec: SeriesSpec): TransferSyntax {
  return spec.transferSyntax ?? 'explicit-le';
}

/** Whether a string of the spec needs a character set beyond ASCII. */
function needsUtf8(spec: SeriesSpec): boolean {
  return [spec.patientName, spec.patientId, spec.studyDescription, spec.seriesDescription].some((text) => /[^\t\n\r -~]/.test(text));
}

function metaElements(sopUid: string, extras: SeriesExtras, syntax: TransferSyntax): Element[] {
  return [
    ['00020002', 'UI', [extras.sopClassUid]],
    ['00020003', 'UI', [sopUid]],
    ['00020010', 'UI', [TRANSFER_SYNTAX_UIDS[syntax]]],
    ['00020012', 'UI', [IMPLEMENTATION_CLASS_UID]],
    ['00020013', 'SH', [IMPLEMENTATION_VERSION]],
  ];
}

// Only these vary per instance; dcmjs sorts by tag on write, so they can live in their own list.
function instanceElements(index: number, extras: SeriesExtras): Element[] {
  const z = (-index * Number(extras.sliceThickness)).toFixed(2);
  return [
    ['00200013', 'IS', [String(index + 1)]],
    ['00200032', 'DS', ['0', '0', z]],
    ['00201041', 'DS', [z]],
  ];
}

function seriesElements(spec: SeriesSpec, sopUid: string, extras: SeriesExtras): Element[] {
  return [
    ...(needsUtf8(spec) ? [['00080005', 'CS', ['ISO_IR 192']] as Element] : []),
    ['00080008', 'CS', ['ORIGINAL', 'PRIMARY', 'AXIAL']],
    ['00080016', 'UI', [extras.sopClassUid]],
    ['00080018', 'UI', [sopUid]],
    ['00080020', 'DA', [spec.studyDate]],
    ['00080021', 'DA', [spec.studyDate]],
    ['00080030', 'TM', ['101500']],
    ['00080050', 'SH', ['']],
    ['00080060', 'CS', [spec.modality]],
    ['00080070', 'LO', [extras.manufacturer]],
    ['00080090', 'PN', ['']],
    ['00081030', 'LO', [spec.studyDescription]],
    ['0008103E', 'LO', [spec.seriesDescription]],
    ['00081090', 'LO', [extras.manufacturerModelName]],
    ['00100010', 'PN', [spec.patientName]],
    ['00100020', 'LO', [spec.patientId]],
    ['00100030', 'DA', ['']],
    ['00100040', 'CS', [extras.patientSex]],
    ['00120062', 'CS', ['YES']],
    // TCIA's CTP anonymiser stamps the collection into private group 0013 ("CTP" creator, ProjectName).
    ['00130010', 'LO', ['CTP']],
    ['00131010', 'LO', [spec.collection]],
    ['00180015', 'CS', [extras.bodyPartExamined]],
    ['00180050', 'DS', [extras.sliceThickness]],
    ['0020000D', 'UI', [spec.studyUid]],
    ['0020000E', 'UI', [spec.seriesUid]],
    ['00200010', 'SH', ['']],
    ...(spec.seriesNumber === undefined ? [] : [['00200011', 'IS', [String(spec.seriesNumber)]] as Element]),
    ['00200012', 'IS', ['1']],
    ['00200037', 'DS', ['1', '0', '0', '0', '1', '0']],
    ['00200052', 'UI', [extras.frameOfReferenceUid]],
    ['00280002', 'US', [1]],
    ['00280004', 'CS', ['MONOCHROME2']],
    ['00280010', 'US', [spec.rows]],
    ['00280011', 'US', [spec.columns]],
    ['00280030', 'DS', [extras.pixelSpacing, extras.pixelSpacing]],
    ['00280100', 'US', [16]],
    ['00280101', 'US', [12]],
    ['00280102', 'US', [11]],
    ['00280103', 'US', [0]],
  ];
}

function encodedLength(elements: Element[], syntax: TransferSyntax = 'explicit-le'): number {
  let total = 0;
  for (const [, vr, values] of elements) {
    const valueLength = vr === 'US' ? 2 * values.length : Buffer.byteLength(values.join('\\'), 'utf8');
    total += (syntax !== 'implicit-le' && LONG_VRS.has(vr) ? 12 : 8) + valueLength + (valueLength % 2);
  }
  return total;
}

function toDataset(elements: Element[]): DenaturalizedDataset {
  return Object.fromEntries(elements.map(([tag, vr, values]) => [tag, { vr, Value: values }]));
}

const PREAMBLE_AND_MAGIC = 132;
// (0002,0000) UL group length and (0002,0001) OB file meta version: not in metaElements because dcmjs and we add them.
const FIXED_META_LENGTH = 12 + 14;
/** PixelData's element header: tag, VR OW, two reserved bytes and a 4-byte length; tag and length only when implicit. */
function pixelElementHeader(syntax: TransferSyntax): number {
  return syntax === 'implicit-le' ? 8 : 12;
}

// Every UID is 43 characters, so the placeholder measures the same as the real SOP Instance UID.
function constantLength(spec: SeriesSpec, extras: SeriesExtras): number {
  const syntax = syntaxOf(spec);
  return (
    PREAMBLE_AND_MAGIC +
    FIXED_META_LENGTH +
    // The file meta group is always explicit VR little endian (PS3.10 §7.1).
    encodedLength(metaElements(UID_PLACEHOLDER, extras, syntax)) +
    encodedLength(seriesElements(spec, UID_PLACEHOLDER, extras), syntax) +
    pixelElementHeader(syntax) +
    spec.rows * spec.columns * 2
  );
}

/** Exact byte length of makeInstance(spec, index), computed without generating it. */
export function instanceSize(spec: SeriesSpec, index: number): number {
  const extras = seriesExtras(spec);
  return constantLength(spec, extras) + encodedLength(instanceElements(index, extras), syntaxOf(spec));
}

/** Total bytes of all instances of the series (what NBIA reports as FileSize). */
export function seriesByteSize(spec: SeriesSpec): number {
  const extras = seriesExtras(spec);
  let total = spec.imageCount * constantLength(spec, extras);
  for (let i = 0; i < spec.imageCount; i++) total += encodedLength(instanceElements(i, extras), syntaxOf(spec));
  return total;
}

function fillPixels(target: Uint16Array, spec: SeriesSpec, index: number): void {
  const seed = digest(`pixels:${spec.seriesUid}:${index}`);
  // xorshift32; a zero state would stay zero forever.
  let state = seed.readUInt32LE(0) || 0x9e3779b9;
  const { rows, columns } = spec;
  const span = Math.max(1, rows + columns);
  const ramp = 2048 / span;
  const noise = (1 << (spec.pixels?.noiseBits ?? 4)) - 1;
  // Squared radius of the field of view in pixels, scaled so a circle fits the image; Infinity: no padding.
  const padding = spec.pixels?.padding ?? 0;
  const inside = padding > 0 ? (1 - padding) * (rows / 2) * (columns / 2) : Infinity;
  let p = 0;
  for (let y = 0; y < rows; y++) {
    const dy = y - rows / 2;
    for (let x = 0; x < columns; x++) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      const dx = x - columns / 2;
      // Gradient plus 4 bits of noise by default: DEFLATE level 1 saves about a third, near the 40-60% of real CT
      // (docs/reference/nbia.md#sizes); spec.pixels changes the noise and pads outside a disc.
      target[p++] = dx * dx + dy * dy > inside ? 0 : 1024 + Math.floor(((x + y + 3 * index) % span) * ramp) + ((state >>> 0) & noise);
    }
  }
}

/** One DICOM Part 10 instance (index 0..imageCount-1), byte-identical for the same inputs. */
export function makeInstance(spec: SeriesSpec, index: number): Buffer {
  if (!Number.isInteger(index) || index < 0 || index >= spec.imageCount) {
    throw new RangeError(`Instance index ${index} is outside 0..${spec.imageCount - 1} for series ${spec.seriesUid}`);
  }
  const extras = seriesExtras(spec);
  const syntax = syntaxOf(spec);
  const sopUid = sopInstanceUid(spec, index);
  const dict = new dcmjs.data.DicomDict({
    ...toDataset(metaElements(sopUid, extras, syntax)),
    '00020001': { vr: 'OB', Value: [new Uint8Array([0, 1]).buffer] },
  });
  dict.dict = toDataset([...seriesElements(spec, sopUid, extras), ...instanceElements(index, extras)]);
  const header = Buffer.from(dict.write());
  const pixelBytes = spec.rows * spec.columns * 2;
  // allocUnsafeSlow gives an unpooled ArrayBuffer at offset 0, so the (even) pixel offset is 2-byte aligned.
  const out = Buffer.allocUnsafeSlow(header.length + pixelElementHeader(syntax) + pixelBytes);
  header.copy(out, 0);
  let o = header.length;
  const bigEndian = syntax === 'explicit-be';
  o = bigEndian ? out.writeUInt16BE(0x7fe0, o) : out.writeUInt16LE(0x7fe0, o);
  o = bigEndian ? out.writeUInt16BE(0x0010, o) : out.writeUInt16LE(0x0010, o);
  if (syntax !== 'implicit-le') {
    o += out.write('OW', o, 'latin1');
    o = out.writeUInt16LE(0, o);
  }
  o = bigEndian ? out.writeUInt32BE(pixelBytes, o) : out.writeUInt32LE(pixelBytes, o);
  // Writing PixelData ourselves keeps a 512x512 image to one typed-array fill instead of dcmjs per-value work.
  fillPixels(new Uint16Array(out.buffer, out.byteOffset + o, pixelBytes / 2), spec, index);
  // The typed array wrote host order; OW words are stored in the transfer syntax's byte order.
  if ((endianness() === 'BE') !== bigEndian) out.subarray(o).swap16();
  return out;
}
