import { forEachLimit } from '../concurrency.js';
import type { ArchivedScan, XnatClient } from '../xnat/xnat-client.js';
import type { XnatHoldings } from './build-plan.js';

/**
 * What the project holds of the manifest's studies: its sessions, every experiment label, the scans of the sessions
 * the manifest mentions, and which of those another project owns. The project's listing holds sessions shared into
 * it under its own labels; only the session document names the owner (docs/reference/xnat-rest.md#shared-experiments).
 */
export async function readHoldings(xnat: XnatClient, project: string, studyUids: Set<string>): Promise<XnatHoldings> {
  const sessions = await xnat.listSessions(project);
  const scans = new Map<string, ArchivedScan[]>();
  const sharedFrom = new Map<string, string>();
  const relevant = sessions.filter((s) => studyUids.has(s.studyUid));
  await forEachLimit(relevant, 4, async (session) => {
    const held = await xnat.sessionScans(session.id);
    scans.set(session.id, held?.scans ?? []);
    if (held?.project && held.project !== project) sharedFrom.set(session.id, held.project);
  });
  return { sessions, labels: await xnat.listExperimentLabels(project), scans, sharedFrom };
}
