/**
 * The bench's verification step: the floor (inflate + MD5 in native code) at every ratio and the tool's relay, each
 * on one core. The floor is measured twice, first while the machine is quietest and again after every other step,
 * and the bench-wide floor is the median of both sets of rounds. This machine's speed drifts by a third and more,
 * even within one bench, so each tool run on NBIA is also judged against a floor measured just before it.
 */
import { join } from 'node:path';
import { summariseCpuProfile } from './bench-profile.js';
import { verifyRate, type ProfiledVerify } from './bench-report.js';
import { verifyRun } from './bench-runs.js';
import type { VerifyRelay, VerifyResult } from './bench-verify.js';

export interface VerifyStep {
  ratios: string[];
  images: number;
  rows: number;
  level: number;
  rounds: number;
  workDir: string;
}

/** The floor at every ratio, then the tool's relay at each; the first ratio's relay is also profiled, separately. */
export async function measureVerify(step: VerifyStep, say: (line: string) => void): Promise<ProfiledVerify[]> {
  say(`\nverification on one core (${step.images} files of ${step.rows}×${step.rows}, zip level ${step.level}):`);
  const results: ProfiledVerify[] = await floors(step, say);
  for (const pixels of step.ratios) {
    const verify: ProfiledVerify = await measure(step, 'tool', pixels, say);
    if (pixels === step.ratios[0]) {
      // Profiled separately: the profiler's own cost must not lower the measured figure.
      const file = join(step.workDir, `verify-tool-${pixels}.cpuprofile`);
      await verifyRun(step.images, step.rows, step.level, 2, { relay: 'tool', pixels, profileFile: file });
      verify.profile = await summariseCpuProfile(file, 25);
    }
    results.push(verify);
  }
  return results;
}

/** The floor at every ratio; `when` marks a second sitting. */
export async function floors(step: VerifyStep, say: (line: string) => void, when?: 'end'): Promise<VerifyResult[]> {
  if (when) say(`\nthe verify floor again, at the end (${step.images} files, one core):`);
  const results: VerifyResult[] = [];
  for (const pixels of step.ratios) results.push({ ...(await measure(step, 'floor', pixels, say)), ...(when ? { when } : {}) });
  return results;
}

async function measure(step: VerifyStep, relay: VerifyRelay, pixels: string, say: (line: string) => void): Promise<VerifyResult> {
  const verify = await verifyRun(step.images, step.rows, step.level, step.rounds, { relay, pixels });
  const r = verifyRate(verify);
  say(`  ${relay} on ${pixels} (${(verify.dicomBytes / verify.zipBytes).toFixed(2)}:1): ${r.wall.toFixed(0)} MB/s, ${r.cpuPerGB.toFixed(2)} CPU s per GB${verify.pinned ? ', pinned to one core' : ''}`);
  return verify;
}

/** The floor at one ratio in CPU s per GB, five rounds (three proved a noisy yardstick), for the tool run about to start. */
export async function floorNow(step: VerifyStep, pixels: string): Promise<number> {
  const verify = await verifyRun(step.images, step.rows, step.level, 5, { relay: 'floor', pixels });
  return verifyRate(verify).cpuPerGB;
}
