import dicomParser from 'dicom-parser';

/**
 * Reads on where dicom-parser stopped in an Explicit VR Big Endian dataset: at a UN element of undefined length,
 * a sequence whose items are in Implicit VR Little Endian (docs/reference/dicom.md#reading-headers). The parser
 * reads those items in big endian and fails; dcm4che reads them in little endian and goes on. So does this, with
 * the parser's own element and item readers: element by element from the start, the items of each such UN
 * through a little endian stream, up to `untilTag`. Any other fault (a head cut off) ends it, keeping the
 * elements read before it, as a plain parse would.
 */
export function readPastUnSequences(dataSet: dicomParser.DataSet, untilTag: string): dicomParser.DataSet {
  const { byteArray } = dataSet;
  const stream = new dicomParser.ByteStream(dicomParser.bigEndianByteArrayParser, byteArray, 0);
  try {
    while (stream.position < byteArray.length) {
      const element = readElement(stream, dataSet.warnings, untilTag);
      dataSet.elements[element.tag] = element;
      if (element.tag === untilTag) break;
    }
  } catch {
    // The elements up to the fault stand.
  }
  return dataSet;
}

function readElement(stream: dicomParser.ByteStream, warnings: string[], untilTag: string): dicomParser.Element {
  const start = stream.position;
  try {
    return dicomParser.readDicomElementExplicit(stream, warnings, untilTag);
  } catch (error) {
    // Read the failed element's tag, VR and length again, without its value (the parser stops at its untilTag).
    stream.position = start;
    const tag = dicomParser.readTag(stream);
    stream.position = start;
    const element = dicomParser.readDicomElementExplicit(stream, warnings, tag);
    if (element.vr !== 'UN' || !element.hadUndefinedLength) throw error;
    const items = new dicomParser.ByteStream(dicomParser.littleEndianByteArrayParser, stream.byteArray, stream.position);
    dicomParser.readSequenceItemsImplicit(items, element);
    stream.position = items.position;
    return element;
  }
}
