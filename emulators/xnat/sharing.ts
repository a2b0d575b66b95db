/**
 * Sharing an experiment or a subject of one project into another (docs/reference/xnat-rest.md#shared-experiments):
 * the share lists it in the other project under a label of its own, while it stays the owning project's.
 */
import { HttpError, type Ctx } from './html.js';
import { canEdit, canRead } from './projects.js';
import type { Experiment, Project, Subject } from './state.js';

/** The experiment's label as a project sees it: a share's own label, else the experiment's. */
export function labelIn(e: Experiment, project: string): string {
  if (e.project === project) return e.label;
  return e.shares?.find((x) => x.project === project)?.label || e.label;
}

/**
 * `PUT /data/projects/Q/subjects/S/experiments/E/projects/P?label=L` (SubjAssessmentResource.handlePut): shares E
 * into P. The project is looked up by ID only; the checks and their messages follow XNAT's order.
 */
export function shareExperiment(ctx: Ctx, e: Experiment, target: string): boolean {
  const into: Project | undefined = ctx.state.projects.get(target);
  if (!into || !canRead(ctx, into)) throw new HttpError(404, `Unable to identify project: ${target}`);
  if (into.id === e.project) throw new HttpError(409, `Already assigned to project:${into.id}`);
  const label = ctx.query.label;
  const held = e.shares?.find((x) => x.project === into.id);
  if (held) {
    // A new label renames the share, and the answer is still the conflict.
    if (label) held.label = label;
    throw new HttpError(409, `Already assigned to project:${into.id}`);
  }
  if (label && ctx.state.findExperiment(into.id, label)) throw new HttpError(409, `Label already in use:${label}`);
  if (!canEdit(ctx, into)) throw new HttpError(403, `Specified user account has insufficient create privileges for experiments in the ${into.id} project.`);
  (e.shares ??= []).push({ project: into.id, label: label ?? '' });
  ctx.reply(200, e.id, 'text/plain');
  return true;
}

/**
 * `PUT /data/projects/Q/subjects/S/projects/P?label=L` (SubjectResource.handlePut): shares subject S into P, where
 * the archiver then finds it by L (an xnat:projectParticipant row). Checks and messages in XNAT's order.
 */
export function shareSubject(ctx: Ctx, subject: Subject, target: string): boolean {
  const into: Project | undefined = ctx.state.projects.get(target);
  if (!into || !canRead(ctx, into)) throw new HttpError(404, `Unable to identify project: ${target}`);
  const label = ctx.query.label;
  if (into.id === subject.project || subject.shares?.some((x) => x.project === into.id)) throw new HttpError(409, `Already assigned to project:${into.id}`);
  if (label && ctx.state.findSubject(into.id, label)) throw new HttpError(409, `Label already in use:${label}`);
  if (!canEdit(ctx, into)) throw new HttpError(403, `Specified user account has insufficient create privileges for subjects in the ${into.id} project.`);
  (subject.shares ??= []).push({ project: into.id, label: label ?? '' });
  ctx.reply(200, subject.id, 'text/plain');
  return true;
}
