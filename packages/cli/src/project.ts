import { dirname, relative } from 'node:path';
import {
  type Component,
  didYouMean,
  findProjectConfig,
  loadProject,
  type Project,
  UsageError,
} from '@defstate/core';
import { warningMessage } from './output/messages.js';

/**
 * The project a command works on: `--project <dir>` exactly, or else the nearest folder with a
 * `defstate.config.*` from the working folder up, as git and changesets find theirs. A project
 * that declares no components is not an error (a new one starts that way) but is said once.
 */
export async function commandProject(projectOption: string | undefined): Promise<Project> {
  const project = await loadProject(projectOption ?? process.cwd(), {
    searchUpward: projectOption === undefined,
  });
  if (project.components.length === 0) {
    warningMessage(
      `${relative(process.cwd(), project.configFile) || project.configFile} declares no components, so there is nothing to do.\n  → Add one with defineComponent({ key, management, refresh }) from @defstate/core.`,
    );
  }
  return project;
}

/**
 * The project, when the command can work without one (history reads the store alone): none when
 * no config is found, an error when one is found but is broken.
 */
export async function optionalProject(
  projectOption: string | undefined,
): Promise<Project | undefined> {
  const found = await findProjectConfig(projectOption ?? process.cwd(), {
    searchUpward: projectOption === undefined,
  }).catch(() => undefined);
  return found ? loadProject(dirname(found)) : undefined;
}

/** The declared component of `key`, or a `UsageError` that suggests the nearest declared key. */
export function declaredKey(project: Project, key: string): Component {
  const component = project.components.find((candidate) => candidate.key === key);
  if (component) return component;
  throw unknownKeyError(project, key);
}

export function unknownKeyError(project: Project, key: string): UsageError {
  const known = project.components.map((candidate) => candidate.key);
  const suggestion = didYouMean(key, known);
  return new UsageError(`Unknown key "${key}": ${project.configFile} does not declare it.`, {
    hint: [
      suggestion,
      `Known keys: ${known.map((name) => `"${name}"`).join(', ') || '(none declared)'}.`,
    ]
      .filter(Boolean)
      .join(' '),
  });
}

/** Local state keeps one version, in the tree: it has no history to list or roll back to. */
export function localKeyError(key: string, doing: string): UsageError {
  return new UsageError(
    `"${key}" is local: its state lives in the project tree, one version at a time, so it has no history${doing}.`,
    {
      hint: `Only versioned keys keep their versions. \`defstate status -k ${JSON.stringify(key)}\` shows its current state; \`defstate refresh -k ${JSON.stringify(key)}\` replaces it.`,
    },
  );
}
