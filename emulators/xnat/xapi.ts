/**
 * The read-only XAPI calls an admin's readiness check makes: the caller's project roles and site roles, two
 * site settings, the anonymization switches and the Container Service's commands and their enabled state.
 * Facts and sources: docs/reference/readiness-check.md.
 */
import { HttpError, type Ctx } from './html.js';
import { canEdit, canRead, roleOf } from './projects.js';
import type { EmulatedCommand } from './types.js';

/** Group display names XNAT gives a project's default groups. */
const GROUP_NAMES = { owner: 'Owners', member: 'Members', collaborator: 'Collaborators' } as const;

export function handleXapiRoute(ctx: Ctx): boolean {
  const s = ctx.seg;
  if (s[0] !== 'xapi' || ctx.method !== 'GET') return false;
  const json = (value: unknown): void => ctx.reply(200, JSON.stringify(value), 'application/json');
  if (s[1] === 'access' && s[2] === 'projects' && s.length === 3) {
    // Only the projects where the caller is in a group; site admins see no extra rows (RoleHolder query).
    const rows = [...ctx.state.projects.values()].flatMap((p) => {
      const role = roleOf({ user: ctx.user && { ...ctx.user, admin: false }, faults: ctx.faults }, p);
      if (role === undefined || role === 'admin') return [];
      return [{ secondary_ID: p.secondaryId, ID: p.id, role: GROUP_NAMES[role], name: p.name, URI: `/data/projects/${p.id}`, group_id: `${p.id}_${role}`, description: p.description }];
    });
    json(rows);
    return true;
  }
  if (s[1] === 'users' && s[3] === 'roles' && s.length === 4) {
    const name = s[2] as string;
    if (name !== ctx.user?.username && !ctx.user?.admin) throw new HttpError(403, 'Not authorized to view this user.');
    const user = ctx.state.users.get(name);
    if (!user) throw new HttpError(404, 'User not found.');
    json(user.admin ? ['Administrator'] : []);
    return true;
  }
  if (s[1] === 'users' && s[3] === 'groups' && s.length === 4) {
    // Every group the user is in, project groups as <project>_<role> and the site-wide ones (UsersApi.usersIdGroupsGet).
    const user = ctx.state.users.get(s[2] as string);
    if (!user) throw new HttpError(404, 'User not found.');
    if (user.username !== ctx.user?.username && !ctx.user?.admin) throw new HttpError(403, 'Not authorized to get the groups for this user.');
    const groups = [...ctx.state.projects.values()].flatMap((p) => {
      const role = p.owners.has(user.username) ? 'owner' : p.members.has(user.username) ? 'member' : p.collaborators.has(user.username) ? 'collaborator' : undefined;
      return role ? [`${p.id}_${role}`] : [];
    });
    json(user.allDataAdmin ? [...groups, 'ALL_DATA_ADMIN'] : groups);
    return true;
  }
  if (s[1] === 'siteConfig' && s.length === 3 && s[2] !== 'buildInfo') {
    const settings: Record<string, unknown> = {
      // The emulator keeps this switch per user (XnatUser.canCreateProjects); XNAT has one for the site.
      uiAllowNonAdminProjectCreation: ctx.user?.canCreateProjects ?? true,
      enableSitewideAnonymizationScript: ctx.state.site.siteAnonymization,
    };
    if (!(s[2]! in settings)) throw new HttpError(404, `No site configuration property named ${s[2]}`);
    json(settings[s[2]!]);
    return true;
  }
  if (s[1] === 'anonymize') return anonymize(ctx, json);
  if (s[1] === 'commands' && s.length === 2) return listCommands(ctx, json);
  if (s[1] === 'projects' && s[3] === 'commands' && s[5] === 'wrappers' && s[7] === 'enabled' && s.length === 8) {
    const commands = installedCommands(ctx);
    const project = ctx.state.findProject(s[2]!);
    if (!project || !canRead(ctx, project)) throw new HttpError(404, `No project ${s[2]}`);
    if (!canEdit(ctx, project)) throw new HttpError(403, `Unauthorized to edit project ${s[2]}`);
    const wrapper = commands.find((c) => String(c.id) === s[4])?.wrappers.find((w) => w.name === s[6]);
    if (!wrapper) throw new HttpError(404, `No wrapper ${s[6]} on command ${s[4]}`);
    json({ 'enabled-for-site': wrapper.enabledForSite ?? false, 'enabled-for-project': (wrapper.enabledForProjects ?? []).includes(project.id), project: project.id });
    return true;
  }
  return false;
}

function anonymize(ctx: Ctx, json: (value: unknown) => void): boolean {
  const s = ctx.seg;
  if (s[2] === 'site' && s[3] === 'enabled' && s.length === 4) {
    json(ctx.state.site.siteAnonymization);
    return true;
  }
  if (s[2] === 'projects' && s[4] === 'enabled' && s.length === 5) {
    const project = ctx.state.findProject(s[3]!);
    if (!project || !canRead(ctx, project)) throw new HttpError(404, "The specified project wasn't found.");
    json(ctx.state.site.projectAnonymization.includes(project.id));
    return true;
  }
  return false;
}

/** `GET /xapi/commands[?name=&version=&image=]`; without the Container Service plugin the route does not exist. */
function listCommands(ctx: Ctx, json: (value: unknown) => void): boolean {
  const { name, version, image } = ctx.query;
  if (version && !name) throw new HttpError(400, 'If "version" is specified, must specify "name" as well.');
  const found = installedCommands(ctx).filter((c) => (!name || c.name === name) && (!version || c.version === version) && (!image || c.image === image));
  json(found.map((c) => ({ id: c.id, name: c.name, version: c.version, image: c.image, type: 'docker', xnat: c.wrappers.map((w, i) => ({ id: c.id * 100 + i, name: w.name, contexts: ['xnat:projectData'] })) })));
  return true;
}

function installedCommands(ctx: Ctx): EmulatedCommand[] {
  const commands = ctx.state.site.commands;
  if (!commands) throw new HttpError(404, 'The server has not found anything matching the request URI');
  return commands;
}
