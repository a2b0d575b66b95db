/**
 * Where the IDC index is and what goes wrong with it: what config, the run's exit code and the checks need without
 * loading the parquet and S3 code (src/sources/open-sources.ts loads that only when IDC is used).
 */
import { XtdError } from '../../errors.js';

/** Public URL of TCIA's subset of IDC's index (docs/reference/idc.md#index). */
export const DEFAULT_IDC_INDEX = 'https://storage.googleapis.com/idc-index-data-artifacts/current/release_artifacts/tcia_idc_subset.parquet';

/** IDC's buckets on AWS, where objects come from unless --idc-endpoint names another S3 server. */
export const IDC_S3 = 'https://s3.amazonaws.com';

/** True for http(s) URLs; anything else is a local path. */
export function isUrl(source: string): boolean {
  return /^https?:\/\//i.test(source);
}

/** An index that cannot be used (wrong columns, bad series_aws_url): usage-level, nothing is transferred. */
export class IdcIndexError extends XtdError {
  constructor(message: string) {
    super('ERR_IDC_INDEX', message, { hint: 'check --idc-index: it must be a tcia_idc_subset.parquet file or its URL' });
  }
}
