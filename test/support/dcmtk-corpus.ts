/**
 * A conformance corpus that this project did not encode: every file is written by dcmtk's command-line tools
 * (dump2dcm from a text dump, then dcmconv, dcmcjpeg, dcmcjpls, dcmcrle, dcmodify), one folder per case, each a
 * series of two instances. Only the File Meta cases (group length, Transfer Syntax) and the UN sequence case patch
 * a dcmtk file afterwards: no tool writes a wrong meta group on purpose, and dcmtk writes a UN sequence as SQ.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const DCMTK_TOOLS = ['dump2dcm', 'dcmconv', 'dcmcjpeg', 'dcmcjpls', 'dcmcrle', 'dcmodify', 'img2dcm'];

/** The tools that are not on PATH. */
export function missingDcmtkTools(): string[] {
  return DCMTK_TOOLS.filter((tool) => {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
      return false;
    } catch {
      return true;
    }
  });
}

export interface CorpusCase {
  name: string;
  dir: string;
  seriesUid: string;
  studyUid: string;
  patientId: string;
  /** PatientName as Unicode, when the case is about how it is decoded. */
  patientName?: string;
}

/** A text value in a dump: raw bytes between brackets, so any character set can be written. */
type Value = string | Buffer;
type Field = [tag: string, vr: string, value: Value];

interface CaseSpec {
  name: string;
  /** Extra or replacing fields of the dump. */
  fields?: Field[];
  /** dump2dcm options (transfer syntax, lengths, dataset only). */
  write?: string[];
  /** A dcmtk tool run on each written file: [tool, ...options]. */
  convert?: string[];
  /** No image pixel module and no PixelData (RTSTRUCT, SR, KO, …). */
  noPixels?: boolean;
  frames?: number;
  patch?: (file: Buffer) => Buffer;
  patientName?: { unicode: string; charset: string; bytes: Buffer };
  /** A second SeriesInstanceUID value after the series' own (a multi-valued UI element). */
  secondSeriesUid?: string;
}

const ROOT = '1.2.826.0.1.3680043.10.1427';

function uid(...parts: (string | number)[]): string {
  return [ROOT, ...parts].join('.');
}

/** Hex bytes in a two-byte set, switched in by `escape` and back to the first set by `back`. */
function jis(text: string, escape: string, back = '(B'): Buffer {
  return Buffer.concat([Buffer.from(`\x1b${escape}`, 'latin1'), Buffer.from(text, 'hex'), Buffer.from(`\x1b${back}`, 'latin1')]);
}

/**
 * Names in the encodings of PS3.5 Annex H–K and the single-byte sets of PS3.3 C.12.1.1.2; the byte strings
 * are those encodings of the Unicode beside them.
 */
const NAMES: NonNullable<CaseSpec['patientName']>[] = [
  { charset: '\\ISO 2022 IR 87', unicode: 'Yamada^Tarou=山田^太郎=やまだ^たろう', bytes: Buffer.concat([Buffer.from('Yamada^Tarou='), jis('3b334544', '$B'), Buffer.from('^'), jis('42404f3a', '$B'), Buffer.from('='), jis('2464245e2440', '$B'), Buffer.from('^'), jis('243f246d2426', '$B')]) },
  { charset: 'ISO 2022 IR 13\\ISO 2022 IR 87', unicode: 'ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎', bytes: Buffer.concat([Buffer.from('d4cfc0de5ec0dbb33d', 'hex'), jis('3b334544', '$B', '(J'), Buffer.from('^'), jis('42404f3a', '$B', '(J')]) },
  { charset: '\\ISO 2022 IR 159', unicode: 'Hong^Ki=丂', bytes: Buffer.concat([Buffer.from('Hong^Ki='), jis('3021', '$(D')]) },
  { charset: '\\ISO 2022 IR 149', unicode: 'Hong^Gildong=洪^吉洞', bytes: Buffer.concat([Buffer.from('Hong^Gildong=\x1b$)C', 'latin1'), Buffer.from('fbf3', 'hex'), Buffer.from('^\x1b$)C', 'latin1'), Buffer.from('d1ced4d7', 'hex')]) },
  { charset: '\\ISO 2022 IR 58', unicode: 'Zhang^XiaoDong=张^小东', bytes: Buffer.concat([Buffer.from('Zhang^XiaoDong=\x1b$)A', 'latin1'), Buffer.from('d5c5', 'hex'), Buffer.from('^\x1b$)A', 'latin1'), Buffer.from('d0a1b6ab', 'hex')]) },
  { charset: 'ISO_IR 192', unicode: 'Wang^XiaoDong=王^小東', bytes: Buffer.from('Wang^XiaoDong=王^小東', 'utf8') },
  { charset: 'GB18030', unicode: 'Wang^XiaoDong=王^小东', bytes: Buffer.concat([Buffer.from('Wang^XiaoDong='), Buffer.from('cdf55ed0a1b6ab', 'hex')]) },
  { charset: 'GBK', unicode: 'Wang^XiaoDong=王^小东', bytes: Buffer.concat([Buffer.from('Wang^XiaoDong='), Buffer.from('cdf55ed0a1b6ab', 'hex')]) },
  { charset: 'ISO_IR 100', unicode: 'Buc^Jérôme', bytes: Buffer.from('Buc^Jérôme', 'latin1') },
  { charset: 'ISO_IR 101', unicode: 'Wałęsa^Lech', bytes: Buffer.from('5761b3ea73615e4c656368', 'hex') },
  { charset: 'ISO_IR 144', unicode: 'Люксембург', bytes: Buffer.from('bbeedae1d5dcd1e3e0d3', 'hex') },
  { charset: 'ISO_IR 126', unicode: 'Διονυσιος', bytes: Buffer.from('c4e9efedf5f3e9eff2', 'hex') },
  { charset: 'ISO_IR 127', unicode: 'قباني^لنزار', bytes: Buffer.from('e2c8c7e6ea5ee4e6d2c7d1', 'hex') },
  { charset: 'ISO_IR 138', unicode: 'שרון^דבורה', bytes: Buffer.from('f9f8e5ef5ee3e1e5f8e4', 'hex') },
  { charset: 'ISO_IR 148', unicode: 'Çavuş^Ömer', bytes: Buffer.from('c7617675fe5ed66d6572', 'hex') },
  { charset: 'ISO_IR 166', unicode: 'นาย^สมชาย', bytes: Buffer.from('b9d2c25ecac1aad2c2', 'hex') },
  { charset: 'ISO_IR 203', unicode: 'Œuvre^Zoë', bytes: Buffer.from('bc757672655e5a6feb', 'hex') },
];

const PRIVATE_BLOCK: Field[] = [
  ['0029,0010', 'LO', 'XTD TEST'],
  ['0029,1010', 'UN', '01\\02\\03\\04\\05\\06'],
];

/** A sequence of undefined length holding one item of undefined length. */
const REFERENCED_SEQUENCE: Field[] = [
  ['0008,1140', 'SQ', '(Sequence with undefined length)'],
  ['fffe,e000', 'na', '(Item with undefined length)'],
  ['0008,1150', 'UI', '1.2.840.10008.5.1.4.1.1.7'],
  ['0008,1155', 'UI', uid(9, 9, 9)],
  ['fffe,e00d', 'na', '(ItemDelimitationItem)'],
  ['fffe,e0dd', 'na', '(SequenceDelimitationItem)'],
];

function cases(): CaseSpec[] {
  const structural: CaseSpec[] = [
    { name: 'explicit-vr-little-endian', write: ['+te'] },
    // (0028,0106) has dictionary VR "xs" (US or SS): implicit VR leaves it to the reader.
    { name: 'implicit-vr-little-endian', write: ['+ti'], fields: [['0028,0106', 'US', '0'], ['0028,0107', 'US', '255']] },
    { name: 'explicit-vr-big-endian', write: ['+tb'] },
    { name: 'deflated-explicit-vr-little-endian', write: ['+td'] },
    { name: 'jpeg-baseline', convert: ['dcmcjpeg', '+eb'] },
    { name: 'jpeg-lossless', convert: ['dcmcjpeg', '+el'] },
    { name: 'jpeg-ls', convert: ['dcmcjpls'] },
    { name: 'rle', convert: ['dcmcrle'] },
    // dcmtk 3.6.7 encodes no JPEG 2000: JPEG fragments under the JPEG 2000 and HTJ2K UIDs stand in for them.
    // The header, which is all the tool reads, is laid out exactly as for a real JPEG 2000 file.
    { name: 'jpeg-2000', convert: ['dcmcjpeg', '+eb'], patch: (file) => withMetaTransferSyntax(file, '1.2.840.10008.1.2.4.90') },
    { name: 'htj2k', convert: ['dcmcjpeg', '+eb'], patch: (file) => withMetaTransferSyntax(file, '1.2.840.10008.1.2.4.201') },
    { name: 'bare-dataset-implicit', write: ['-F', '+ti'] },
    { name: 'bare-dataset-explicit', write: ['-F', '+te'] },
    { name: 'meta-group-length-missing', write: ['+te'], patch: dropMetaGroupLength },
    { name: 'meta-without-transfer-syntax', write: ['+te'], patch: (file) => withMetaTransferSyntax(file, undefined) },
    { name: 'meta-group-length-wrong', write: ['+te'], patch: (file) => Buffer.from(file).fill(0, 140, 144).fill(0x7f, 140, 141) },
    { name: 'undefined-length-sequences', write: ['+te', '-e'], fields: REFERENCED_SEQUENCE },
    { name: 'private-un', write: ['+te'], fields: PRIVATE_BLOCK },
    { name: 'implicit-private-un', write: ['+ti'], fields: PRIVATE_BLOCK },
    { name: 'header-over-64k', write: ['+te'], fields: [['0029,0010', 'LO', 'XTD TEST'], ['0029,1020', 'OB', '=big']] },
    { name: 'multi-frame', write: ['+te'], frames: 3, fields: [['0028,0008', 'IS', '3']] },
    { name: 'rtstruct', noPixels: true, fields: [['0008,0016', 'UI', '1.2.840.10008.5.1.4.1.1.481.3'], ['0008,0060', 'CS', 'RTSTRUCT']] },
    { name: 'rtplan', noPixels: true, fields: [['0008,0016', 'UI', '1.2.840.10008.5.1.4.1.1.481.5'], ['0008,0060', 'CS', 'RTPLAN']] },
    { name: 'sr', noPixels: true, fields: [['0008,0016', 'UI', '1.2.840.10008.5.1.4.1.1.88.11'], ['0008,0060', 'CS', 'SR']] },
    { name: 'ko', noPixels: true, fields: [['0008,0016', 'UI', '1.2.840.10008.5.1.4.1.1.88.59'], ['0008,0060', 'CS', 'KO']] },
    { name: 'pr', noPixels: true, fields: [['0008,0016', 'UI', '1.2.840.10008.5.1.4.1.1.11.1'], ['0008,0060', 'CS', 'PR']] },
    { name: 'seg', write: ['+te'], fields: [['0008,0016', 'UI', '1.2.840.10008.5.1.4.1.1.66.4'], ['0008,0060', 'CS', 'SEG']] },
  ];
  const charsets: CaseSpec[] = NAMES.map((patientName) => ({
    name: `charset-${patientName.charset.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '').toLowerCase()}`,
    write: ['+te'],
    patientName,
  }));
  return [...structural, ...charsets];
}

/**
 * Layouts dcm4che reads (so XNAT archives them) that a Part 10 parser taking the File Meta group at its word
 * does not: kept apart from cases(), as the XNAT emulator's own reader refuses some of them.
 */
function layoutCases(): CaseSpec[] {
  return [
    { name: 'transfer-syntax-space-padded-implicit', write: ['+ti'], patch: spacePaddedTransferSyntax },
    { name: 'transfer-syntax-space-padded-big-endian', write: ['+tb'], patch: spacePaddedTransferSyntax },
    { name: 'dicm-without-meta-implicit', write: ['-F', '+ti'], patch: (file) => Buffer.concat([Buffer.alloc(128), Buffer.from('DICM', 'latin1'), file]) },
    { name: 'dicm-without-meta-big-endian', write: ['-F', '+tb'], patch: (file) => Buffer.concat([Buffer.alloc(128), Buffer.from('DICM', 'latin1'), file]) },
    { name: 'meta-without-preamble-implicit', write: ['+ti'], patch: (file) => file.subarray(132) },
    { name: 'meta-without-preamble-big-endian', write: ['+tb'], patch: (file) => file.subarray(132) },
    { name: 'multi-valued-series-uid', write: ['+te'], secondSeriesUid: uid(999, 9) },
    // A private sequence encoded as UN of undefined length (CP-246), its items in implicit VR little endian.
    { name: 'un-sequence-big-endian', write: ['+tb'], fields: [['0009,0010', 'LO', 'XTD TEST'], ['0009,1030', 'UN', '=unsequence']], patch: undefinedUnLength },
  ];
}

/** A UN sequence's value as dump hex bytes: REFERENCED_SEQUENCE in implicit VR little endian, less tag and length. */
function unSequenceHex(work: string): string {
  const [dump, out] = [join(work, 'un-sequence.dump'), join(work, 'un-sequence.dcm')];
  writeFileSync(dump, REFERENCED_SEQUENCE.map(([tag, vr, value]) => `(${tag}) ${vr} ${vr === 'UI' ? `[${value as string}]` : (value as string)}\n`).join(''));
  execFileSync('dump2dcm', ['-q', '-F', '+ti', '-e', dump, out], { stdio: ['ignore', 'ignore', 'pipe'] });
  return [...readFileSync(out).subarray(8)].map((byte) => byte.toString(16).padStart(2, '0')).join('\\');
}

/** The private UN element of a big endian file given undefined length: its value already ends with the delimiter. */
function undefinedUnLength(file: Buffer): Buffer {
  const at = file.indexOf(Buffer.from('00091030554e0000', 'hex'));
  if (at < 0) throw new Error('no (0009,1030) UN element in the big endian dataset');
  return Buffer.from(file).fill(0xff, at + 8, at + 12);
}

/** The odd-length Transfer Syntax UID padded with a space where DICOM says NUL, as some writers do. */
function spacePaddedTransferSyntax(file: Buffer): Buffer {
  const { at, size } = metaTransferSyntax(file);
  if (file[at + size - 1] !== 0) throw new Error('the Transfer Syntax UID has no NUL pad to replace');
  return Buffer.from(file).fill(0x20, at + size - 1, at + size);
}

function dropMetaGroupLength(file: Buffer): Buffer {
  // (0002,0000) UL is the first element after 'DICM': 12 bytes at offset 132.
  if (file.readUInt16LE(132) !== 2 || file.readUInt16LE(134) !== 0) throw new Error('no File Meta group length where expected');
  return Buffer.concat([file.subarray(0, 132), file.subarray(144)]);
}

/** Where (0002,0010) starts in the File Meta group (explicit VR little endian) and how many bytes it takes. */
function metaTransferSyntax(file: Buffer): { at: number; size: number } {
  let at = 144;
  while (file.readUInt16LE(at) === 2 && file.readUInt16LE(at + 2) !== 0x10) {
    const vr = file.toString('latin1', at + 4, at + 6);
    at += ['OB', 'OW', 'UN', 'SQ', 'UT'].includes(vr) ? 12 + file.readUInt32LE(at + 8) : 8 + file.readUInt16LE(at + 6);
  }
  if (file.readUInt16LE(at) !== 2) throw new Error('no Transfer Syntax UID in the File Meta group');
  return { at, size: 8 + file.readUInt16LE(at + 6) };
}

/** Replaces the File Meta Transfer Syntax UID (`undefined` removes it) and keeps the group length right. */
function withMetaTransferSyntax(file: Buffer, uid: string | undefined): Buffer {
  const { at, size } = metaTransferSyntax(file);
  let element = Buffer.alloc(0);
  if (uid !== undefined) {
    const value = Buffer.from(uid.length % 2 ? `${uid}\0` : uid, 'latin1');
    element = Buffer.alloc(8 + value.length);
    element.writeUInt16LE(2, 0);
    element.writeUInt16LE(0x10, 2);
    element.write('UI', 4, 'latin1');
    element.writeUInt16LE(value.length, 6);
    value.copy(element, 8);
  }
  const out = Buffer.concat([file.subarray(0, at), element, file.subarray(at + size)]);
  out.writeUInt32LE(out.readUInt32LE(140) - size + element.length, 140);
  return out;
}

function dumpText(spec: CaseSpec, index: number, series: string, study: string, patientId: string): Buffer {
  const fields: Field[] = [
    ['0008,0005', 'CS', spec.patientName?.charset ?? ''],
    ['0008,0016', 'UI', '1.2.840.10008.5.1.4.1.1.7'],
    ['0008,0018', 'UI', `${series}.${index + 1}`],
    ['0008,0020', 'DA', '20200102'],
    ['0008,0060', 'CS', 'OT'],
    ['0010,0010', 'PN', spec.patientName?.bytes ?? `XTD^${spec.name.toUpperCase().replace(/-/g, '')}`],
    ['0010,0020', 'LO', patientId],
    ['0020,000d', 'UI', study],
    ['0020,000e', 'UI', spec.secondSeriesUid ? `${series}\\${spec.secondSeriesUid}` : series],
    ['0020,0011', 'IS', '1'],
    ['0020,0013', 'IS', String(index + 1)],
  ];
  if (!spec.noPixels) {
    fields.push(
      ['0028,0002', 'US', '1'],
      ['0028,0004', 'CS', 'MONOCHROME2'],
      ['0028,0010', 'US', '16'],
      ['0028,0011', 'US', '16'],
      ['0028,0100', 'US', '8'],
      ['0028,0101', 'US', '8'],
      ['0028,0102', 'US', '7'],
      ['0028,0103', 'US', '0'],
      ['7fe0,0010', 'OB', '=pixels'],
    );
  }
  const merged = new Map<string, Field>();
  for (const field of [...fields, ...(spec.fields ?? [])]) merged.set(field[0] + (field[0].startsWith('fffe') ? merged.size : ''), field);
  const ordered = spec.fields?.some((f) => f[1] === 'SQ') ? [...fields, ...(spec.fields ?? [])] : [...merged.values()].sort((a, b) => a[0].localeCompare(b[0]));
  const lines = ordered.filter(([, , value]) => value !== '').map(([tag, vr, value]) => {
    if (vr === 'na' || vr === 'SQ') return Buffer.from(`(${tag}) ${vr} ${value as string}\n`, 'latin1');
    const text = typeof value === 'string' && value.startsWith('=') ? value : undefined;
    if (text !== undefined) return Buffer.from(`(${tag}) ${vr} ${text}\n`, 'latin1');
    if (['US', 'UN'].includes(vr)) return Buffer.from(`(${tag}) ${vr} ${value as string}\n`, 'latin1');
    return Buffer.concat([Buffer.from(`(${tag}) ${vr} [`, 'latin1'), Buffer.isBuffer(value) ? value : Buffer.from(value, 'latin1'), Buffer.from(']\n', 'latin1')]);
  });
  return Buffer.concat(lines);
}

/** Writes every case under `root`, one folder each, and says what each series is. */
export function buildDcmtkCorpus(root: string): CorpusCase[] {
  return writeCases(root, cases(), 0);
}

/** The layout cases (layoutCases), for reading their headers; their UIDs differ from the main corpus's. */
export function buildDcmtkLayouts(root: string): CorpusCase[] {
  return writeCases(root, layoutCases(), 500);
}

function writeCases(root: string, specs: CaseSpec[], firstNumber: number): CorpusCase[] {
  const work = join(root, 'work');
  mkdirSync(work, { recursive: true });
  writeFileSync(join(work, 'pixels'), Buffer.from(Array.from({ length: 256 }, (_, i) => (i * 7) & 0xff)));
  writeFileSync(join(work, 'pixels3'), Buffer.from(Array.from({ length: 768 }, (_, i) => (i * 5) & 0xff)));
  writeFileSync(join(work, 'big'), Buffer.alloc(96 * 1024, 0x5a));
  const unSequence = unSequenceHex(work);
  return specs.map((spec, index) => {
    const n = firstNumber + index;
    const dir = join(root, spec.name);
    mkdirSync(dir, { recursive: true });
    const series = uid(n + 1, 2);
    const study = uid(n + 1, 1);
    const patientId = `XTD-${String(n + 1).padStart(3, '0')}`;
    for (let i = 0; i < 2; i++) {
      const dump = dumpText(spec, i, series, study, patientId).toString('latin1').replace('=pixels', `=${join(work, spec.frames ? 'pixels3' : 'pixels')}`).replace('=big', `=${join(work, 'big')}`).replace('=unsequence', unSequence);
      const dumpFile = join(work, `${spec.name}-${i}.dump`);
      writeFileSync(dumpFile, Buffer.from(dump, 'latin1'));
      const out = join(dir, `${String(i + 1).padStart(3, '0')}.dcm`);
      execFileSync('dump2dcm', ['-q', ...(spec.write ?? ['+te']), dumpFile, out], { stdio: ['ignore', 'ignore', 'pipe'] });
      if (spec.convert) {
        const [tool, ...options] = spec.convert as [string, ...string[]];
        const converted = `${out}.tmp`;
        execFileSync(tool, ['-q', ...options, out, converted], { stdio: ['ignore', 'ignore', 'pipe'] });
        writeFileSync(out, readFileSync(converted));
        execFileSync('rm', ['-f', converted]);
      }
      if (spec.patch) writeFileSync(out, spec.patch(readFileSync(out)));
    }
    return { name: spec.name, dir, seriesUid: series, studyUid: study, patientId, patientName: spec.patientName?.unicode };
  });
}
