import { UsageError } from '../errors.js';
import type { ManagementType } from '../model/state-info.js';
import type { Component } from './component.js';
import type { Project } from './load-project.js';
import { didYouMean } from './nearest-key.js';

/** Picks the components to refresh; an unknown key is a `UsageError` listing the known ones. */
export function selectComponents(
  project: Project,
  keys: readonly string[] = [],
  management: readonly ManagementType[] = [],
): Component[] {
  const known = new Set(project.components.map((component) => component.key));
  const unknown = keys.filter((key) => !known.has(key));
  if (unknown.length > 0) {
    // The nearest declared key for each typo first ("Did you mean …?"), then the whole list.
    const suggestions = unknown.map((key) => didYouMean(key, known)).filter(Boolean);
    const list = [...known].map((key) => `"${key}"`).join(', ') || '(none declared)';
    throw new UsageError(
      `Unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((key) => `"${key}"`).join(', ')}.`,
      { hint: [...suggestions, `Known keys: ${list}.`].join(' ') },
    );
  }
  return project.components.filter(
    (component) =>
      (keys.length === 0 || keys.includes(component.key)) &&
      (management.length === 0 || management.includes(component.management)),
  );
}
