/**
 * The raw baseline: each series' getImage response is piped straight into XNAT's import service, with no
 * verification, no inspection and no re-zip. It is the fastest any importer can go through the same two servers
 * on the same machine, so the tool's throughput is reported as a ratio of it.
 */
import { pipeline } from 'node:stream/promises';
import got from 'got';

/** One series to move and the XNAT labels to file it under. */
export interface BaselineJob {
  seriesUid: string;
  subject: string;
  session: string;
}

export interface BaselineTarget {
  nbiaUrl: string;
  xnatUrl: string;
  user: string;
  pass: string;
  project: string;
}

/** Logs in once, as the tool does, and returns the session cookie. */
async function login(target: BaselineTarget): Promise<string> {
  const response = await got(`${target.xnatUrl}/data/JSESSION`, { username: target.user, password: target.pass });
  const cookie = [response.headers['set-cookie'] ?? []].flat().map((c) => c.split(';')[0]).find((c) => c?.startsWith('JSESSIONID='));
  if (!cookie) throw new Error('the XNAT emulator set no JSESSIONID');
  return cookie;
}

async function moveSeries(job: BaselineJob, target: BaselineTarget, cookie: string): Promise<void> {
  const download = got.stream(`${target.nbiaUrl}/nbia-api/services/v4/getImage`, {
    searchParams: { SeriesInstanceUID: job.seriesUid, IncludeMD5: 'Yes' },
    retry: { limit: 0 },
    // A stalled emulator must fail the run, not hang the bench.
    timeout: { socket: 120_000 },
  });
  const upload = got.stream.post(`${target.xnatUrl}/data/services/import`, {
    searchParams: {
      'import-handler': 'DICOM-zip',
      PROJECT_ID: target.project,
      SUBJECT_ID: job.subject,
      EXPT_LABEL: job.session,
      overwrite: 'append',
      prevent_auto_commit: 'true',
      SOURCE: 'bench-baseline',
      // NBIA's zip carries LICENSE and md5hashes.csv next to the DICOM files. XNAT's DICOM-zip importer fails the
      // whole upload on an entry it cannot parse as DICOM unless told to skip such entries, and skipping them is
      // exactly the "no inspection" this baseline stands for (the tool drops them itself before re-zipping).
      'Ignore-Unparsable': 'true',
    },
    // XNAT names the upload from Content-Type; application/zip makes it upload.zip, anything else is refused.
    headers: { 'content-type': 'application/zip', cookie },
    retry: { limit: 0 },
    timeout: { socket: 120_000 },
  });
  let reply = '';
  await pipeline(download, upload, async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) reply += chunk.toString('utf8');
  });
  if (!reply.trim().startsWith('/data/prearchive/')) throw new Error(`XNAT did not take series ${job.seriesUid}: ${reply.slice(0, 200)}`);
}

/** Moves every job with `concurrency` series in flight; resolves to the number moved. */
export async function runBaseline(jobs: BaselineJob[], target: BaselineTarget, concurrency: number): Promise<number> {
  const cookie = await login(target);
  const queue = [...jobs];
  let moved = 0;
  const worker = async (): Promise<void> => {
    for (let job = queue.shift(); job; job = queue.shift()) {
      await moveSeries(job, target, cookie);
      moved += 1;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, worker));
  return moved;
}
