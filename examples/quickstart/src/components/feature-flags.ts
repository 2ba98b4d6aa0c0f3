/**
 * `feature-flags`: the flags in `sources/flags.json`, checked and sorted. Versioned management:
 * flags usually come from a flag service, and a deployment should keep running on the flags it
 * was built with even when the service is down, while a rollback can pin an older set.
 */
import { writeFile } from 'node:fs/promises';
import { defineComponent } from '@defstate/core';
import {
  byName,
  InvalidSourceError,
  isRecord,
  parseJsonSource,
  readSourceText,
  type SourceProblem,
  throwIfProblems,
  unknownFields,
} from '../source-files.js';

export const FLAGS_FILE = 'sources/flags.json';

export interface FeatureFlag {
  name: string;
  enabled: boolean;
  description: string;
}

export interface FeatureFlagsState {
  schemaVersion: 1;
  /** Sorted by name. */
  flags: FeatureFlag[];
}

const FLAG_NAME = /^[a-z][a-z0-9-]*$/;
const FLAG_FIELDS = ['enabled', 'description'] as const;

export const featureFlags = defineComponent({
  key: 'feature-flags',
  management: 'versioned',
  description: 'Feature flags from sources/flags.json.',
  async refresh({ projectRoot, statePath, signal, log }) {
    const state = await readFeatureFlags(projectRoot, signal);
    const enabled = state.flags.filter((flag) => flag.enabled).length;
    log(`${state.flags.length} flags, ${enabled} enabled`);
    await writeFile(statePath, `${JSON.stringify(state, null, 2)}\n`, { signal });
  },
});

/** Reads and checks the flags; throws an `InvalidSourceError` listing all problems. */
export async function readFeatureFlags(
  projectRoot: string,
  signal: AbortSignal,
): Promise<FeatureFlagsState> {
  const parsed = parseJsonSource(await readSourceText(projectRoot, FLAGS_FILE, signal), FLAGS_FILE);
  if ('problem' in parsed) throw new InvalidSourceError([parsed.problem]);
  const document = parsed.value;
  if (!isRecord(document)) {
    throw new InvalidSourceError([
      { file: FLAGS_FILE, message: 'expected an object of flags: { "flag-name": { ... } }' },
    ]);
  }
  const problems: SourceProblem[] = [];
  const flags: FeatureFlag[] = [];
  for (const [name, flag] of Object.entries(document)) {
    const where = `flag "${name}": `;
    const problem = (message: string) =>
      problems.push({ file: FLAGS_FILE, message: where + message });
    if (!FLAG_NAME.test(name)) {
      problem('a flag name is lowercase letters, digits and dashes, starting with a letter');
    }
    if (!isRecord(flag)) {
      problem('expected { "enabled": true | false, "description": "..." }');
      continue;
    }
    problems.push(...unknownFields(flag, FLAG_FIELDS, FLAGS_FILE, where));
    if (typeof flag.enabled !== 'boolean') problem('"enabled" must be true or false');
    if (typeof flag.description !== 'string' || flag.description.trim() === '') {
      problem('"description" must say what the flag turns on');
    }
    flags.push({
      name,
      enabled: flag.enabled === true,
      description: String(flag.description ?? ''),
    });
  }
  throwIfProblems(problems);
  return { schemaVersion: 1, flags: flags.sort(byName) };
}
