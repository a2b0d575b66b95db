// getImage and getImageWithMD5Hash: a zip of the series streamed on the fly (docs/reference/nbia.md#getimage, docs/reference/nbia.md#getimagewithmd5hash).
import { createHash } from 'node:crypto';
import { makeInstance, sopInstanceUid, type SeriesSpec } from '../dicom/synthetic-series.js';
import { BodySink } from './body-sink.js';
import { licenseText, newFileName, sequentialName, servedOrder, shuffled } from './catalog.js';
import { tomcatErrorPage, type FaultParams } from './faults.js';
import type { RouteContext } from './routes.js';
import { JAVA_BUFFER, javaBuffered, zipStream, type ZipSource } from './zip-writer.js';
import { storedZip, storing, type ZipKey } from './zip-cache.js';

/** What goes into one zip. */
export interface ZipPlan {
  license: boolean;
  newFileNames: boolean;
  md5: boolean;
  corrupt?: FaultParams['corruptByte'];
  nonDicom?: FaultParams['nonDicomEntry'];
  duplicate?: FaultParams['duplicateEntry'];
  blankMd5?: FaultParams['blankMd5'];
}

const GET_IMAGE_PARAMS = ['SeriesInstanceUID', 'NewFileNames', 'IncludeMD5'];
const MD5_PARAMS = ['SeriesInstanceUID'];

/** The `md5hashes.csv` body: unquoted, LF, rows in HashMap (not entry) order, per FormatOutput.toCsv. */
export function md5Csv(rows: [name: string, md5: string][], seriesUid: string): string {
  const order = shuffled(rows.length, `md5:${seriesUid}`);
  return 'Filename,MD5Hash\n' + order.map((i) => `${rows[i]?.[0]},${rows[i]?.[1]}\n`).join('');
}

/** The entries of one getImage zip, generated one at a time as the zip encoder asks for them. */
export function* zipEntries(spec: SeriesSpec, plan: ZipPlan, instance = (index: number): Buffer => makeInstance(spec, index)): Generator<ZipSource> {
  if (plan.license) yield { name: 'LICENSE', data: Buffer.from(licenseText(spec), 'utf8') };
  // NewFileNames=Yes sorts by instance number before naming (ImageDAO2Impl.setNewFileNames).
  const order = plan.newFileNames ? Array.from({ length: spec.imageCount }, (_, i) => i) : servedOrder(spec);
  const hashes: [string, string][] = [];
  for (const [k, index] of order.entries()) {
    const name = plan.newFileNames ? newFileName(index, spec.imageCount) : sequentialName(k);
    let data = instance(index);
    // NBIA writes the stored string as it is, so CTP's missing digest comes out as `name, ` (FormatOutput.toCsv).
    if (plan.md5) hashes.push([name, plan.blankMd5?.entryIndex === k ? ' ' : createHash('md5').update(data).digest('hex')]);
    // By default the flipped byte is the last pixel byte: the file still parses, only its MD5 no longer matches.
    if (plan.corrupt?.entryIndex === k) {
      const at = plan.corrupt.offset < 0 ? data.length + plan.corrupt.offset : plan.corrupt.offset;
      data = Buffer.from(data);
      data[at] = (data[at] as number) ^ 0xff;
    }
    if (plan.duplicate?.entryIndex === k) {
      const damaged = Buffer.from(data);
      damaged[damaged.length - 1] = (damaged[damaged.length - 1] as number) ^ 0xff;
      yield { name: plan.duplicate.name ?? name, data: damaged };
    }
    yield { name, data };
    if (plan.nonDicom && k === 0) yield { name: plan.nonDicom.name, data: Buffer.from(plan.nonDicom.content, 'utf8') };
  }
  if (plan.md5) yield { name: 'md5hashes.csv', data: Buffer.from(md5Csv(hashes, spec.seriesUid), 'utf8') };
}

function isYes(value: string | undefined): boolean {
  return value?.toLowerCase() === 'yes';
}

function notPublicMessage(version: string, uid: string): string {
  return version === 'v1'
    ? `Image with given SeriesInstanceUID,${uid}, is not in public domain.`
    : `The user has not been granted the access to image with given SeriesInstanceUID,${uid}. Please contact System Admin.`;
}

/** Handles v1/v4 getImage (`withMd5` false) and getImageWithMD5Hash (`withMd5` true). */
export async function handleImage(ctx: RouteContext, withMd5: boolean): Promise<void> {
  const { ex, version, faults, catalog } = ctx;
  const allowed = withMd5 ? MD5_PARAMS : GET_IMAGE_PARAMS;
  // v4 rejects parameters outside the endpoint's set; v1 ignores them (docs/reference/nbia.md#responses).
  const extra = version === 'v4' ? Object.keys(ex.query).find((k) => !allowed.includes(k)) : undefined;
  if (extra !== undefined) {
    ex.text(400, `Invalid query parameter: '${extra}'. Allowed parameters are: [${allowed.join(', ')}]`);
    return;
  }
  const uid = ex.query.SeriesInstanceUID;
  if (!uid) {
    ex.text(400, 'A parameter, SeriesInstanceUID, is required for this API call.');
    return;
  }
  const spec = catalog.spec(uid);
  if (!spec) {
    // Refused before any streaming, typed JSON although the body is plain text (V1_getImage / V4_getImage).
    ex.text(400, notPublicMessage(version, uid), 'application/json');
    return;
  }
  const target = { endpoint: `${version}/${ctx.name}`, seriesUids: [uid] };
  const html = faults.take('htmlInsteadOfZip', target);
  if (html) {
    ex.text(html.status, tomcatErrorPage(html.status), 'text/html;charset=utf-8');
    return;
  }
  const plan: ZipPlan = {
    license: !withMd5,
    newFileNames: !withMd5 && isYes(ex.query.NewFileNames),
    // IncludeMD5 arrived with v4 (commit 6a85f7d1); v1 getImage has no such option.
    md5: withMd5 || (version === 'v4' && isYes(ex.query.IncludeMD5)),
    corrupt: faults.take('corruptByte', target),
    nonDicom: faults.take('nonDicomEntry', target),
    duplicate: faults.take('duplicateEntry', target),
    blankMd5: faults.take('blankMd5', target),
  };
  const sink = new BodySink(ex.res, {
    bytesPerSecond: ctx.bytesPerSecond,
    truncateAfter: faults.take('truncateAfterBytes', target)?.bytes,
    stallAfter: faults.take('stallAfterBytes', target)?.bytes,
  });
  // ZipOutputStream output has no Content-Length, so Node sends it chunked, as NBIA does.
  ex.head(200, { 'Content-Type': 'application/octet-stream', 'Content-Disposition': `attachment; filename="${uid}.zip"` });
  if (!(await sink.begin())) return;
  for await (const chunk of await zipBody(ctx, spec, plan)) {
    if (!(await sink.write(chunk))) return;
  }
  await sink.end();
}

/** The body's 8 KB writes: from the zip store when there is one and the zip has no fault, else built now. */
async function zipBody(ctx: RouteContext, spec: SeriesSpec, plan: ZipPlan): Promise<AsyncIterable<Buffer>> {
  const built = (): AsyncGenerator<Buffer> =>
    javaBuffered(zipStream(zipEntries(spec, plan, (index) => ctx.catalog.instance(spec.seriesUid, index)), ctx.deflateLevel, ctx.zipDescriptors));
  const dir = ctx.zipCacheDir;
  if (!dir || plan.corrupt || plan.nonDicom || plan.duplicate || plan.blankMd5) return built();
  const key: ZipKey = { seriesUid: spec.seriesUid, deflateLevel: ctx.deflateLevel, descriptors: ctx.zipDescriptors, license: plan.license, newFileNames: plan.newFileNames, md5: plan.md5 };
  return (await storedZip(dir, key, JAVA_BUFFER)) ?? storing(dir, key, built());
}

/**
 * v4 getMD5HashForImage: the stored MD5 of one instance as text/plain, the value md5hashes.csv lists for it; an empty
 * body for an instance NBIA does not hold or does not show (docs/reference/nbia.md#md5-of-one-image).
 */
export function handleMd5ForImage(ctx: RouteContext): void {
  const { ex, catalog } = ctx;
  const extra = Object.keys(ex.query).find((k) => k !== 'SOPInstanceUID');
  if (extra !== undefined) {
    ex.text(400, `Invalid query parameter: '${extra}'. Allowed parameters are: [SOPInstanceUID]`);
    return;
  }
  const at = catalog.locate(ex.query.SOPInstanceUID ?? '');
  ex.text(200, at ? createHash('md5').update(catalog.instance(at.seriesUid, at.index)).digest('hex') : '');
}

const SINGLE_IMAGE_PARAMS = ['SeriesInstanceUID', 'SOPInstanceUID'];

/**
 * getSingleImage: one file, the same bytes getImage serves for it, as application/dicom
 * (docs/reference/nbia.md#single-files). NBIA's answer for a SOPInstanceUID it does not hold is not in the
 * reference; the emulator answers 404.
 */
export function handleSingleImage(ctx: RouteContext): void {
  const { ex, version, catalog } = ctx;
  const extra = version === 'v4' ? Object.keys(ex.query).find((k) => !SINGLE_IMAGE_PARAMS.includes(k)) : undefined;
  if (extra !== undefined) {
    ex.text(400, `Invalid query parameter: '${extra}'. Allowed parameters are: [${SINGLE_IMAGE_PARAMS.join(', ')}]`);
    return;
  }
  const { SeriesInstanceUID: uid, SOPInstanceUID: sop } = ex.query;
  if (!uid || !sop) {
    ex.text(400, 'A parameter, SeriesInstanceUID and SOPInstanceUID, are required for this API call.', 'application/json');
    return;
  }
  const spec = catalog.spec(uid);
  const index = spec ? Array.from({ length: spec.imageCount }, (_, i) => i).find((i) => sopInstanceUid(spec, i) === sop) : undefined;
  if (index === undefined) {
    ex.text(404, 'Not Found');
    return;
  }
  ex.send(200, catalog.instance(uid, index), 'application/dicom', { 'Content-Disposition': `attachment; filename=${sop}.dcm` });
}
