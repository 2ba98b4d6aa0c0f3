import { UsageError } from '../errors.js';
import type { ManagementType } from '../model/state-info.js';
import type { Component } from './component.js';
import type { Project } from './load-project.js';

/** Picks the components to refresh; an unknown key is a `UsageError` listing the known ones. */
export function selectComponents(
  project: Project,
  keys: readonly string[] = [],
  management: readonly ManagementType[] = [],
): Component[] {
  const known = new Set(project.components.map((component) => component.key));
  const unknown = keys.filter((key) => !known.has(key));
  if (unknown.length > 0) {
    throw new UsageError(
      `Unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((key) => `"${key}"`).join(', ')}.`,
      {
        hint: `Known keys: ${[...known].map((key) => `"${key}"`).join(', ') || '(none declared)'}.`,
      },
    );
  }
  return project.components.filter(
    (component) =>
      (keys.length === 0 || keys.includes(component.key)) &&
      (management.length === 0 || management.includes(component.management)),
  );
}
