import { spawn } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BIN, configModule, createSandbox, runDefstate, type Sandbox } from './helpers.js';

// What a component prints, through the built CLI: its log() lines reach CI logs, and nothing it
// prints can corrupt a --json document.

let sandbox: Sandbox;
beforeEach(async () => {
  sandbox = await createSandbox();
});
afterEach(async () => {
  await sandbox.cleanup();
});

const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  runDefstate(args, { cwd: sandbox.project, env: { ...sandbox.env, ...env } });

const chatty = configModule([
  [
    'catalog',
    'local',
    `log('listing tables'); log('found 3\\nschemas'); console.log('stray console.log'); process.stdout.write('stray write\\n'); console.info('stray info'); await writeFile(statePath, 'C');`,
  ],
  ['flags', 'versioned', `log('fetching flags'); await writeFile(statePath, 'F');`],
]);

describe('component output', () => {
  it('prints every log() line off a terminal, each prefixed with its key', async () => {
    await sandbox.write('defstate.config.mjs', chatty);
    const result = await run(['refresh']);
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines).toContain('[catalog] listing tables');
    // A multi-line message keeps its key on each line.
    expect(lines).toContain('[catalog] found 3');
    expect(lines).toContain('[catalog] schemas');
    expect(lines).toContain('[flags] fetching flags');
    // The log line comes before the key's result line.
    expect(result.stdout.indexOf('[catalog] listing tables')).toBeLessThan(
      result.stdout.search(/✓ catalog \(local\) refreshed/),
    );
  });

  it('keeps stdout for the JSON document alone: what a component prints goes to stderr', async () => {
    await sandbox.write('defstate.config.mjs', `console.log('config says hello');\n${chatty}`);
    for (const args of [
      ['refresh', '--json'],
      ['deploy', '--json'],
      ['status', '--json'],
      ['verify', '--json'],
      ['pin', '--json'],
    ]) {
      const result = await run(args);
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
      expect(
        () => JSON.parse(result.stdout),
        `${args.join(' ')} stdout: ${result.stdout}`,
      ).not.toThrow();
      expect(result.stderr).toContain('config says hello');
      if (args[0] === 'refresh' || args[0] === 'deploy') {
        expect(result.stderr).toContain('stray console.log');
        expect(result.stderr).toContain('stray write');
        expect(result.stderr).toContain('stray info');
        expect(result.stderr).toContain('[catalog] listing tables');
      }
    }
  });

  it('writes a --json document larger than a pipe holds whole, to a reader that is slow', async () => {
    // 2,000 keys make a document of some 400 KB; a pipe holds 64 KiB. The reader waits a second
    // before reading, so the document is still queued when the command is done.
    await sandbox.write(
      'defstate.config.mjs',
      `export default { components: Array.from({ length: 2000 }, (_, index) => ({ key: \`component-\${index}\`, management: 'local', refresh: () => {} })) };\n`,
    );
    const shell = `"${process.execPath}" "${BIN}" status --json | { sleep 1; cat; }`;
    const child = spawn('bash', ['-c', shell], { cwd: sandbox.project, env: sandbox.env });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    expect(stdout.length).toBeGreaterThan(128 * 1024);
    const document = JSON.parse(stdout) as { keys: unknown[] };
    expect(document.keys).toHaveLength(2000);
  }, 60_000);
});
