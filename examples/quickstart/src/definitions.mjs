/**
 * The run-time half of the example: load each key's state with `loadState` and build the app's
 * definitions from it. Plain JavaScript with JSDoc types, so `node src/app.mjs` runs it with no
 * build step; the state's JSON is the contract between the components and this file.
 */
import { readFile } from 'node:fs/promises';
import { loadState } from '@defstate/core/load';

/**
 * @typedef {import('@defstate/core').LoadedState} LoadedState
 * @typedef {import('@defstate/core').LoadStateOptions} LoadStateOptions
 * @typedef {import('@defstate/core').ManagementType} ManagementType
 * @typedef {import('./components/services.js').ServicesState} ServicesState
 * @typedef {import('./components/warehouse-catalog.js').WarehouseCatalogState} WarehouseCatalogState
 * @typedef {import('./components/feature-flags.js').FeatureFlagsState} FeatureFlagsState
 *
 * @typedef {{ key: string, description: string, columns: string[] }} Asset
 * @typedef {{ name: string, asset: string, expectedRows: number }} AssetCheck
 * @typedef {{ name: string, url: string, owner: string, after: string[] }} Job
 * @typedef {{ name: string, job: string, cron: string }} Schedule
 * @typedef {{ assets: Asset[], assetChecks: AssetCheck[], jobs: Job[], schedules: Schedule[] }} Definitions
 *
 * @typedef {object} States
 * @property {ServicesState} services
 * @property {WarehouseCatalogState} catalog
 * @property {FeatureFlagsState} flags
 */

/**
 * The keys this app reads and how each is managed. Saying the management type lets a never-refreshed
 * local key fail with "no local state" instead of being looked up in versioned storage.
 * @type {Readonly<Record<string, ManagementType>>}
 */
export const STATE_KEYS = {
  services: 'local',
  'warehouse-catalog': 'versioned',
  'feature-flags': 'versioned',
};

const SCHEMA_VERSION = 1;

/**
 * Loads every key's state. A key without state fails the whole load: an app must not start on
 * partial definitions. Every missing key is reported, not only the first.
 * @param {Omit<LoadStateOptions, 'management'>} options
 * @returns {Promise<{ loaded: LoadedState[], states: States }>}
 */
export async function loadStates(options) {
  const keys = Object.keys(STATE_KEYS);
  const settled = await Promise.allSettled(
    keys.map(async (key) => {
      const loaded = await loadState(key, { ...options, management: STATE_KEYS[key] });
      return { loaded, value: await readStateJson(loaded) };
    }),
  );
  const errors = settled.flatMap((result) => (result.status === 'rejected' ? [result.reason] : []));
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1)
    throw new AggregateError(errors, `${errors.length} states could not be loaded`);
  const results = settled.flatMap((result) =>
    result.status === 'fulfilled' ? [result.value] : [],
  );
  const [services, catalog, flags] = results.map((result) => result.value);
  return {
    loaded: results.map((result) => result.loaded),
    states: {
      services: /** @type {ServicesState} */ (services),
      catalog: /** @type {WarehouseCatalogState} */ (catalog),
      flags: /** @type {FeatureFlagsState} */ (flags),
    },
  };
}

/**
 * @param {LoadedState} loaded
 * @returns {Promise<unknown>}
 */
async function readStateJson(loaded) {
  const text = await readFile(loaded.path, 'utf8');
  /** @type {{ schemaVersion?: unknown }} */
  const state = JSON.parse(text);
  if (state?.schemaVersion !== SCHEMA_VERSION) {
    throw new Error(
      `State "${loaded.key}" (version ${loaded.version}) has schemaVersion ${JSON.stringify(state?.schemaVersion)}; this app reads ${SCHEMA_VERSION}.\n  → Refresh it with the components in this checkout: defstate refresh --key ${loaded.key}`,
    );
  }
  return state;
}

/**
 * One asset per warehouse table, one smoke-test job per service (after the services it depends
 * on), and what the flags turn on: row-count checks and nightly schedules.
 * @param {States} states
 * @returns {Definitions}
 */
export function buildDefinitions({ services, catalog, flags }) {
  const enabled = new Set(flags.flags.filter((flag) => flag.enabled).map((flag) => flag.name));
  const assets = catalog.tables.map((table) => ({
    key: `warehouse/${table.name}`,
    description: `${table.rowCount} rows from ${table.source}`,
    columns: table.columns.map(
      (column) => `${column.name}: ${column.type}${column.nullable ? '?' : ''}`,
    ),
  }));
  const assetChecks = enabled.has('row-count-checks')
    ? catalog.tables.map((table) => ({
        name: `${table.name}_row_count`,
        asset: `warehouse/${table.name}`,
        expectedRows: table.rowCount,
      }))
    : [];
  const jobName = (/** @type {string} */ service) => `smoke_test_${service.replaceAll('-', '_')}`;
  const jobs = services.startOrder.flatMap((name) => {
    const service = services.services.find((candidate) => candidate.name === name);
    if (!service) return [];
    return [
      {
        name: jobName(service.name),
        url: `http://localhost:${service.port}/health`,
        owner: service.owner,
        after: service.dependsOn.map(jobName),
      },
    ];
  });
  const schedules = enabled.has('service-schedules')
    ? jobs.map((job) => ({ name: `${job.name}_nightly`, job: job.name, cron: '0 2 * * *' }))
    : [];
  return { assets, assetChecks, jobs, schedules };
}
