import { basename } from 'node:path';
import type { Readable } from 'node:stream';
import { SeriesContentError } from '../../errors.js';
import type { NbiaClient } from '../../tcia/nbia-client.js';
import type { CheckList, SeriesSource, SourceFile, SourceSeries } from '../types.js';
import { parseMd5List } from './md5-list.js';
import { readZipEntries } from './zip-entries.js';

/** md5hashes.csv as the list a series is verified against; a zip without one cannot be verified. */
export function md5CheckList(published: Map<string, string> | undefined, uid: string): CheckList {
  if (!published) throw new SeriesContentError('the TCIA zip has no md5hashes.csv, so the files cannot be verified', uid, { retryable: true });
  const checks = new Map([...published].map(([name, md5]) => [name, { kind: 'md5' as const, md5 }]));
  return { checks, listName: 'md5hashes.csv', holder: 'the TCIA zip' };
}

/**
 * One NBIA getImage zip as a series: its DICOM entries in zip order; LICENSE and directories are dropped, and
 * md5hashes.csv (the last entry, docs/reference/nbia.md#md5-list) becomes the check list.
 */
export function nbiaZipSeries(download: Readable, uid: string): SourceSeries {
  let published: Map<string, string> | undefined;
  async function* files(signal: AbortSignal): AsyncGenerator<SourceFile> {
    for await (const entry of readZipEntries(download, signal)) {
      const name = basename(entry.path);
      if (entry.type === 'Directory' || name === 'LICENSE') {
        entry.autodrain();
      } else if (name === 'md5hashes.csv') {
        const chunks: Buffer[] = [];
        for await (const chunk of entry) chunks.push(chunk as Buffer);
        published = await parseMd5List(Buffer.concat(chunks).toString('utf8'));
      } else {
        yield { name, body: entry };
      }
    }
  }
  return {
    source: 'nbia',
    seriesUid: uid,
    verified: 'md5',
    files,
    checkList: async () => md5CheckList(published, uid),
    close: () => download.destroy(),
  };
}

/** NBIA's REST API as a source: every series it is asked for, one getImage zip per attempt. */
export class NbiaSource implements SeriesSource {
  readonly name = 'nbia' as const;

  constructor(private readonly nbia: Pick<NbiaClient, 'openSeries'>) {}

  async open(seriesUid: string, signal: AbortSignal): Promise<SourceSeries> {
    return nbiaZipSeries(await this.nbia.openSeries(seriesUid, signal), seriesUid);
  }
}
