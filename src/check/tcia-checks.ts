/** TCIA: NBIA's v4 API answers (v1 as the fallback the import uses when v4 is missing). */
import { baseHttp } from '../http-request.js';
import { describeError } from '../errors.js';
import { translateNetworkError } from '../network-errors.js';
import { fail, ok, warn, type CheckLine } from './checklist.js';

/** `GET …/nbia-api/services/{v4,v1}/getCollectionValues`: a JSON list of collections (docs/reference/readiness-check.md#nbia). */
async function collections(root: string, version: 'v4' | 'v1', insecure: boolean): Promise<{ count: number } | { error: string }> {
  try {
    const response = await baseHttp(`${root}/nbia-api/services/${version}/getCollectionValues`, {
      https: { rejectUnauthorized: !insecure },
      timeout: { request: 30_000 },
      retry: { limit: 1 },
      throwHttpErrors: false,
    });
    if (response.statusCode !== 200) return { error: `answers ${response.statusCode}` };
    const list = response.body.trim() ? (JSON.parse(response.body) as unknown) : [];
    return Array.isArray(list) ? { count: list.length } : { error: 'answers, but not with a list of collections' };
  } catch (error) {
    return { error: describeError(translateNetworkError(error, 'TCIA', root)) };
  }
}

export async function checkTcia(root: string, insecure: boolean): Promise<CheckLine[]> {
  const [v4, v1] = await Promise.all([collections(root, 'v4', insecure), collections(root, 'v1', insecure)]);
  const line = (version: string, r: { count: number } | { error: string }): string => ('count' in r ? `NBIA ${version} at ${root} answers (${r.count} collections)` : `NBIA ${version} at ${root}: ${r.error}`);
  if ('count' in v4) return [ok('TCIA', line('v4', v4)), 'count' in v1 ? ok('TCIA v1', line('v1', v1)) : warn('TCIA v1', line('v1', v1), 'not needed while v4 answers')];
  if ('count' in v1) return [warn('TCIA', line('v4', v4), 'the import falls back to v1, which TCIA is retiring'), ok('TCIA v1', line('v1', v1))];
  return [fail('TCIA', line('v4', v4), 'check --tcia-url / TCIA_URL, and that this machine can reach it (proxy, firewall)'), fail('TCIA v1', line('v1', v1), 'as above')];
}
