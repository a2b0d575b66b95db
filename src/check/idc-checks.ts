/** IDC: the index answers and a bucket lists anonymously, as an import with --source auto|idc needs. */
import { stat } from 'node:fs/promises';
import { baseHttp } from '../http-request.js';
import type { SourcesConfig } from '../config.js';
import { describeError } from '../errors.js';
import { translateNetworkError } from '../network-errors.js';
import { isUrl } from '../sources/idc/index-location.js';
import { IdcS3Client } from '../sources/idc/s3-client.js';
import { formatSize } from '../units.js';
import { fail, ok, skip, warn, type CheckLine } from './checklist.js';

/** The bucket most of TCIA's collections sit in (docs/reference/idc.md#buckets). */
const PROBE_BUCKET = 'idc-open-data';

const request = (insecure: boolean) => ({
  https: { rejectUnauthorized: !insecure },
  timeout: { request: 30_000 },
  retry: { limit: 1 },
  throwHttpErrors: false,
});

/** `HEAD` of the index URL (size and ETag, docs/reference/idc.md#index), or the local file's size. */
async function indexFound(index: string, insecure: boolean): Promise<{ found: string } | { error: string }> {
  try {
    if (!isUrl(index)) return { found: `${index} (${formatSize((await stat(index)).size)})` };
    const response = await baseHttp.head(index, request(insecure));
    if (response.statusCode !== 200) return { error: `${index} answers ${response.statusCode}` };
    const size = Number(response.headers['content-length']);
    const etag = response.headers.etag ? `, ETag ${response.headers.etag}` : '';
    return { found: `${index} answers (${Number.isFinite(size) ? formatSize(size) : 'size unknown'}${etag})` };
  } catch (error) {
    return { error: `${index}: ${describeError(translateNetworkError(error, 'IDC', index))}` };
  }
}

/** An anonymous ListObjectsV2 of one key (docs/reference/idc.md#buckets): what listing a series needs. */
async function bucketLists(url: string, insecure: boolean): Promise<{ found: string } | { error: string }> {
  try {
    const response = await baseHttp(url, { ...request(insecure), searchParams: { 'list-type': '2', 'max-keys': '1' } });
    if (response.statusCode !== 200) return { error: `${url} answers ${response.statusCode}` };
    if (!response.body.includes('<ListBucketResult')) return { error: `${url} answers, but not with an S3 listing` };
    return { found: `${url} lists anonymously` };
  } catch (error) {
    return { error: `${url}: ${describeError(translateNetworkError(error, 'IDC', url))}` };
  }
}

export async function checkIdc(sources: SourcesConfig, insecure: boolean): Promise<CheckLine[]> {
  if (sources.mode === 'nbia') return [skip('IDC', 'not used (--source nbia)')];
  const bucketUrl = new IdcS3Client({ endpoint: sources.idcEndpoint }).url(PROBE_BUCKET);
  const [index, bucket] = await Promise.all([indexFound(sources.idcIndex, insecure), bucketLists(bucketUrl, insecure)]);
  // Without IDC, auto still works from NBIA alone; --source idc does not.
  const problem = (what: string, found: string, fix: string): CheckLine =>
    sources.mode === 'idc' ? fail(what, found, fix) : warn(what, found, `${fix}; until then every series comes from NBIA`);
  return [
    'found' in index ? ok('IDC index', index.found) : problem('IDC index', index.error, 'check --idc-index / IDC_INDEX, and that this machine can reach it'),
    'found' in bucket ? ok('IDC buckets', bucket.found) : problem('IDC buckets', bucket.error, 'check --idc-endpoint / IDC_ENDPOINT, and that this machine can reach it'),
  ];
}
