/** The Container Service: plugin present, this tool's command registered, its wrapper enabled for site and project. */
import type { XnatClient } from '../xnat/xnat-client.js';
import { VERSION } from '../version.js';
import { ok, skip, warn, type CheckLine } from './checklist.js';
import { commandsNamed, wrapperEnabled } from './xnat-reads.js';

export const COMMAND_NAME = 'xnat-tcia-download';
export const WRAPPER_NAME = 'xnat-tcia-download-project';

/**
 * Warnings, not failures: the command line imports without the Container Service. Inside a container the
 * question is moot (the Container Service launched it; XNAT_WORKFLOW_ID is one of the variables it injects:
 * docs/reference/container-service.md#environment).
 */
export async function checkContainerService(xnat: XnatClient, project: string, projectExists: boolean, env: NodeJS.ProcessEnv): Promise<CheckLine[]> {
  if (env.XNAT_WORKFLOW_ID !== undefined) return [skip('Container Service', 'running inside a container it launched')];
  const commands = await commandsNamed(xnat, COMMAND_NAME);
  if (!commands) return [warn('Container Service', 'not installed (no /xapi/commands)', 'install the Container Service plugin to run imports from the XNAT UI; the command line works without it')];
  const command = commands.find((c) => c.wrappers.includes(WRAPPER_NAME));
  if (!command) {
    return [ok('Container Service', 'installed'), warn('command', `${COMMAND_NAME} is not registered`, 'register command.json (README, "Install in XNAT")')];
  }
  const lines = [ok('Container Service', 'installed'), command.version === VERSION
    ? ok('command', `${COMMAND_NAME} ${command.version} registered (id ${command.id})`)
    : warn('command', `${COMMAND_NAME} ${command.version} registered, this tool is ${VERSION}`, 'register the command.json of this version')];
  if (!projectExists) return [...lines, skip('wrapper', `${WRAPPER_NAME}: project ${project} does not exist yet`)];
  const enabled = await wrapperEnabled(xnat, project, command.id, WRAPPER_NAME);
  if (!enabled) lines.push(skip('wrapper', `whether ${WRAPPER_NAME} is enabled is not reported (it needs edit rights on ${project})`));
  else if (enabled.site && enabled.project) lines.push(ok('wrapper', `${WRAPPER_NAME} enabled for the site and for ${project}`));
  else {
    const missing = [enabled.site ? '' : 'the site', enabled.project ? '' : `project ${project}`].filter(Boolean).join(' and ');
    lines.push(warn('wrapper', `${WRAPPER_NAME} is not enabled for ${missing}`, `enable it (Administer > Plugin Settings for the site; the project's settings for ${project})`));
  }
  return lines;
}
