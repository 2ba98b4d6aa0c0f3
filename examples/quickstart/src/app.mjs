/**
 * A tiny app that starts from refreshed state: it loads every key with `loadState`, builds its
 * definitions and prints what it loaded. Missing state is fatal, with the loader's message, so a
 * deployment without state fails at start-up instead of running with no definitions.
 */
import { fileURLToPath } from 'node:url';
import { buildDefinitions, loadStates } from './definitions.mjs';

// The project is the folder above src/, wherever the app is started from.
const projectRoot = fileURLToPath(new URL('..', import.meta.url));

try {
  const { loaded, states } = await loadStates({ projectRoot });
  const definitions = buildDefinitions(states);
  const enabledFlags = states.flags.flags.filter((flag) => flag.enabled).length;
  console.log(
    `Loaded ${loaded.length} states → ${states.catalog.tables.length} tables, ${states.services.services.length} services, ${enabledFlags} flags enabled`,
  );
  const width = Math.max(...loaded.map((state) => state.key.length));
  for (const state of loaded) {
    console.log(
      `  ${state.key.padEnd(width)}  ${state.management.padEnd(9)}  ${state.version}  (${state.info.createdAt})`,
    );
  }
  const { assets, assetChecks, jobs, schedules } = definitions;
  console.log(
    `Built ${assets.length} assets, ${assetChecks.length} asset checks, ${jobs.length} jobs, ${schedules.length} schedules.`,
  );
} catch (error) {
  const errors = error instanceof AggregateError ? error.errors : [error];
  for (const each of errors) {
    console.error(`quickstart: ${each instanceof Error ? each.message : String(each)}`);
  }
  process.exitCode = 1;
}
