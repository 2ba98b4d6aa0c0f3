import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { featureFlags, readFeatureFlags } from '../src/components/feature-flags.js';
import { readServices, services } from '../src/components/services.js';
import { readWarehouseCatalog } from '../src/components/warehouse-catalog.js';
import { InvalidSourceError } from '../src/source-files.js';
import { copySources, exampleRoot, type Fixture, neverAborted } from './fixture.js';

let fixture: Fixture;
beforeEach(async () => {
  fixture = await copySources();
});
afterEach(async () => {
  await fixture.cleanup();
});

/** The message of the `InvalidSourceError` that `promise` rejects with. */
async function problemsOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(InvalidSourceError);
  return (error as Error).message;
}

describe('services', () => {
  it('normalises the shipped descriptors into a sorted graph with a start order', async () => {
    const state = await readServices(exampleRoot, neverAborted);
    expect(state.services.map((service) => service.name)).toEqual([
      'auth',
      'catalog',
      'gateway',
      'orders',
      'search',
    ]);
    expect(state.startOrder).toEqual(['auth', 'search', 'catalog', 'orders', 'gateway']);
    const catalog = state.services.find((service) => service.name === 'catalog');
    expect(catalog).toEqual({
      name: 'catalog',
      owner: 'team-commerce',
      port: 8082,
      dependsOn: ['search'],
      dependents: ['gateway', 'orders'],
      source: 'sources/services/catalog.json',
    });
  });

  it('writes its state to statePath and logs progress', async () => {
    const statePath = join(fixture.root, 'state');
    const logs: string[] = [];
    await services.refresh({
      key: services.key,
      statePath,
      signal: neverAborted,
      log: (message) => logs.push(message),
      projectRoot: fixture.root,
      attempt: 1,
    });
    const written = JSON.parse(await readFile(statePath, 'utf8'));
    expect(written).toEqual(await readServices(exampleRoot, neverAborted));
    expect(logs).toEqual(['5 services; start order auth → search → catalog → orders → gateway']);
  });

  it('names the file and line of a descriptor that is not valid JSON', async () => {
    await fixture.write(
      'sources/services/billing.json',
      '{\n  "name": "billing"\n  "port": 1\n}\n',
    );
    expect(await problemsOf(readServices(fixture.root, neverAborted))).toMatch(
      /^sources\/services\/billing\.json:3: invalid JSON: /,
    );
  });

  it('lists every problem of every bad descriptor, each with its file', async () => {
    await fixture.write(
      'sources/services/billing.json',
      JSON.stringify({ name: 'Billing', owner: '', port: 70_000, dependecies: [] }),
    );
    await fixture.write(
      'sources/services/search.json',
      JSON.stringify({ name: 'search', owner: 'team-discovery', port: 8084, dependencies: 'auth' }),
    );
    const message = await problemsOf(readServices(fixture.root, neverAborted));
    expect(message.split('\n')).toEqual([
      '5 problems in the sources:',
      '  sources/services/billing.json: unknown field "dependecies"; expected "name", "owner", "port", "dependencies"',
      '  sources/services/billing.json: "name" must be lowercase letters, digits and dashes, starting with a letter',
      '  sources/services/billing.json: "owner" must name the owning team',
      '  sources/services/billing.json: "port" must be a whole number from 1 to 65535',
      '  sources/services/search.json: "dependencies" must be a list of service names',
    ]);
  });

  it('rejects a name that does not match its file', async () => {
    await fixture.write(
      'sources/services/billing.json',
      JSON.stringify({ name: 'payments', owner: 'team-money', port: 8090 }),
    );
    expect(await problemsOf(readServices(fixture.root, neverAborted))).toBe(
      'sources/services/billing.json: "name" is "payments" but the file is billing.json; rename one to match',
    );
  });

  it('rejects unknown dependencies and shared ports, naming both descriptors', async () => {
    await fixture.write(
      'sources/services/billing.json',
      JSON.stringify({
        name: 'billing',
        owner: 'team-money',
        port: 8081,
        dependencies: ['ledger'],
      }),
    );
    const message = await problemsOf(readServices(fixture.root, neverAborted));
    expect(message).toContain(
      'sources/services/billing.json: port 8081 is already used by "auth" (sources/services/auth.json)',
    );
    expect(message).toContain(
      'sources/services/billing.json: depends on "ledger", which has no descriptor in sources/services',
    );
  });

  it('rejects a dependency cycle, showing the cycle', async () => {
    await fixture.write(
      'sources/services/auth.json',
      JSON.stringify({
        name: 'auth',
        owner: 'team-identity',
        port: 8081,
        dependencies: ['orders'],
      }),
    );
    expect(await problemsOf(readServices(fixture.root, neverAborted))).toBe(
      'sources/services/auth.json: dependency cycle auth → orders → auth; no service can start first',
    );
  });

  it('says when the folder is missing or empty', async () => {
    await fixture.remove('sources/services');
    expect(await problemsOf(readServices(fixture.root, neverAborted))).toBe(
      'sources/services: the folder does not exist',
    );
    await fixture.write('sources/services/README.md', 'no descriptors here');
    expect(await problemsOf(readServices(fixture.root, neverAborted))).toBe(
      'sources/services: the folder holds no *.json files',
    );
  });

  it('stops when its signal is aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('timed out'));
    await expect(readServices(exampleRoot, controller.signal)).rejects.toThrow('timed out');
  });
});

describe('warehouse-catalog', () => {
  it('describes each shipped table with inferred column types and row counts', async () => {
    const state = await readWarehouseCatalog(exampleRoot, neverAborted);
    expect(
      state.tables.map((table) => [
        table.name,
        table.rowCount,
        table.columns.map((c) => `${c.name}:${c.type}${c.nullable ? '?' : ''}`).join(' '),
      ]),
    ).toEqual([
      [
        'customers',
        5,
        'id:integer name:string email:string? country:string signed_up_on:date is_active:boolean',
      ],
      [
        'events',
        7,
        'event_id:integer occurred_at:timestamp kind:string customer_id:integer? payload:string',
      ],
      [
        'orders',
        6,
        'order_id:integer customer_id:integer ordered_on:date total:number currency:string express:boolean?',
      ],
      [
        'products',
        4,
        'sku:string title:string price:number in_stock:boolean weight_kg:number postcode_of_supplier:string',
      ],
    ]);
  });

  it('names the file and line of a row with the wrong number of fields', async () => {
    await fixture.write('sources/warehouse/refunds.csv', 'id,amount\n1,2.5\n2\n3,"4,5",6\n');
    expect(await problemsOf(readWarehouseCatalog(fixture.root, neverAborted))).toBe(
      [
        '2 problems in the sources:',
        '  sources/warehouse/refunds.csv:3: expected 2 fields, found 1',
        '  sources/warehouse/refunds.csv:4: expected 2 fields, found 3',
      ].join('\n'),
    );
  });

  it('names the file and line of a quote that is never closed', async () => {
    await fixture.write('sources/warehouse/refunds.csv', 'id,note\n1,fine\n2,"broken\n3,ok\n');
    expect(await problemsOf(readWarehouseCatalog(fixture.root, neverAborted))).toBe(
      'sources/warehouse/refunds.csv:3: a quoted field is never closed',
    );
  });

  it('rejects an empty file, duplicate columns and a file name that is not a table name', async () => {
    await fixture.write('sources/warehouse/empty.csv', '');
    await fixture.write('sources/warehouse/twice.csv', 'id,id\n1,2\n');
    await fixture.write('sources/warehouse/Bad-Name.csv', 'id\n1\n');
    const message = await problemsOf(readWarehouseCatalog(fixture.root, neverAborted));
    expect(message).toContain(
      'sources/warehouse/Bad-Name.csv: "Bad-Name" is not a table name; use lowercase letters, digits and underscores',
    );
    expect(message).toContain(
      'sources/warehouse/empty.csv: the file is empty; the first line must name the columns',
    );
    expect(message).toContain('sources/warehouse/twice.csv:1: column "id" appears twice');
  });
});

describe('feature-flags', () => {
  it('reads the shipped flags sorted by name', async () => {
    const state = await readFeatureFlags(exampleRoot, neverAborted);
    expect(state.flags.map((flag) => [flag.name, flag.enabled])).toEqual([
      ['beta-dashboard', false],
      ['row-count-checks', true],
      ['service-schedules', true],
    ]);
  });

  it('writes its state to statePath', async () => {
    const statePath = join(fixture.root, 'state');
    const logs: string[] = [];
    await featureFlags.refresh({
      key: featureFlags.key,
      statePath,
      signal: neverAborted,
      log: (message) => logs.push(message),
      projectRoot: exampleRoot,
      attempt: 1,
    });
    expect(JSON.parse(await readFile(statePath, 'utf8')).flags).toHaveLength(3);
    expect(logs).toEqual(['3 flags, 2 enabled']);
  });

  it('names the file and the flag for every bad flag', async () => {
    await fixture.write(
      'sources/flags.json',
      JSON.stringify({
        'Dark-Mode': { enabled: 'yes', description: 'Dark.' },
        quiet: { on: true },
      }),
    );
    expect(await problemsOf(readFeatureFlags(fixture.root, neverAborted))).toBe(
      [
        '5 problems in the sources:',
        '  sources/flags.json: flag "Dark-Mode": a flag name is lowercase letters, digits and dashes, starting with a letter',
        '  sources/flags.json: flag "Dark-Mode": "enabled" must be true or false',
        '  sources/flags.json: flag "quiet": unknown field "on"; expected "enabled", "description"',
        '  sources/flags.json: flag "quiet": "enabled" must be true or false',
        '  sources/flags.json: flag "quiet": "description" must say what the flag turns on',
      ].join('\n'),
    );
  });

  it('says when the file is missing', async () => {
    await fixture.remove('sources/flags.json');
    expect(await problemsOf(readFeatureFlags(fixture.root, neverAborted))).toBe(
      'sources/flags.json: the file does not exist',
    );
  });
});
