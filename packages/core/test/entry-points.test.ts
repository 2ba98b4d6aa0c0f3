import { describe, expect, it } from 'vitest';
import { ensureBuilt, runNode } from './helpers.js';

describe('the built package', () => {
  it('shares one copy of every module between its entry points', async () => {
    // The entry points are bundled apart (scripts/bundle.mjs); what they have in common must be
    // one module, or an error class, a registry of secrets, a proven store would exist twice.
    await ensureBuilt();
    const script = `
      const entries = ['@defstate/core', '@defstate/core/adapter', '@defstate/core/load'];
      const modules = await Promise.all(entries.map((entry) => import(entry)));
      const shared = [];
      const apart = [];
      for (const [index, module] of modules.entries()) {
        for (const other of modules.slice(index + 1)) {
          for (const name of Object.keys(module)) {
            if (!(name in other)) continue;
            (module[name] === other[name] ? shared : apart).push(name);
          }
        }
      }
      process.stdout.write(JSON.stringify({ shared, apart }));`;
    const { shared, apart } = JSON.parse(await runNode(['--input-type=module', '-e', script])) as {
      shared: string[];
      apart: string[];
    };
    // The one name two different functions answer to: the adapter toolkit's `causeChain` walks
    // SDK errors (`cause` and `error`), the root's lists a chain for printing.
    expect(apart).toEqual(['causeChain']);
    expect(shared).toEqual(expect.arrayContaining(['DefstateError', 'redactSecrets', 'loadState']));
  });
});
