import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { readInputs } from '../src/inputs.js';
import { inertLines, inputVariable, processRunner, workflowCommand } from '../src/runner.js';
import { NODE24, parseFileCommands, workflowCommands } from './helpers.js';

const runnerWith = (inputs: Record<string, string>, env: NodeJS.ProcessEnv = {}) =>
  processRunner(
    {
      ...env,
      ...Object.fromEntries(Object.entries(inputs).map(([k, v]) => [inputVariable(k), v])),
    },
    () => {},
  );

test('the bundle runs on the Node 24 that runs.using: node24 names', () => {
  expect(execFileSync(NODE24, ['--version'], { encoding: 'utf8' })).toMatch(/^v24\./);
});

describe('the runner protocol', () => {
  test('input names become INPUT_ variables the way the runner names them', () => {
    expect(inputVariable('working-directory')).toBe('INPUT_WORKING-DIRECTORY');
    expect(inputVariable('my input')).toBe('INPUT_MY_INPUT');
  });

  test('workflow commands escape what would end the message or a property', () => {
    expect(workflowCommand('error', { title: 'a: b, c' }, '100% done\r\nnext')).toBe(
      '::error title=a%3A b%2C c::100%25 done%0D%0Anext\n',
    );
    expect(workflowCommand('add-mask', {}, 's3cr3t')).toBe('::add-mask::s3cr3t\n');
  });

  test('outputs survive several lines and a value that looks like a delimiter', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'defstate-action-runner-'));
    try {
      const output = join(folder, 'output');
      await writeFile(output, '');
      const runner = processRunner({ GITHUB_OUTPUT: output }, () => {});
      runner.setOutput('versions', '{\n  "a": "1"\n}');
      runner.setOutput('tricky', 'EOF\nversions<<EOF');
      expect(parseFileCommands(await readFile(output, 'utf8'))).toEqual({
        versions: '{\n  "a": "1"\n}',
        tricky: 'EOF\nversions<<EOF',
      });
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  test('text shown in the log is never read as a command, however it hides one', () => {
    const hostile = [
      '::warning::from a log line',
      '  ::add-mask::indented',
      '\u00a0\u2003::stop-commands::tok3n',
      'mid ##[error]legacy form anywhere in a line',
      '###[set-output name=a]b',
      'carriage\r::error::after a lone CR',
      'windows\r\n::notice::after CRLF',
    ].join('\n');
    const shown = inertLines(hostile);
    expect(workflowCommands(`${shown}\n`)).toEqual([]);
    expect(shown.split('\n')).toEqual([
      '\\::warning::from a log line',
      '  \\::add-mask::indented',
      '\u00a0\u2003\\::stop-commands::tok3n',
      'mid ##\\[error]legacy form anywhere in a line',
      '###\\[set-output name=a]b',
      'carriage',
      '\\::error::after a lone CR',
      'windows',
      '\\::notice::after CRLF',
    ]);
    // Ordinary text is left as it is.
    expect(inertLines('✓ a refreshed (1 KiB) :: done ## [x]')).toBe(
      '✓ a refreshed (1 KiB) :: done ## [x]',
    );
  });

  test('the summary hides what was masked, also where a cell escaped it', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'defstate-action-runner-'));
    try {
      const summary = join(folder, 'summary.md');
      const printed: string[] = [];
      const runner = processRunner({ GITHUB_STEP_SUMMARY: summary }, (text) => printed.push(text));
      runner.mask('sv=2024&sig=XyZ9');
      runner.mask('   ');
      runner.appendSummary('| a | token sv=2024&amp;sig=XyZ9 and sv=2024&sig=XyZ9 |\n');
      expect(await readFile(summary, 'utf8')).toBe('| a | token *** and *** |\n');
      expect(printed).toEqual(['::add-mask::sv=2024&sig=XyZ9\n']);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  test('whatever it writes is redacted, and a masked value is *** everywhere', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'defstate-action-runner-'));
    try {
      const files = {
        GITHUB_OUTPUT: join(folder, 'output'),
        GITHUB_STEP_SUMMARY: join(folder, 's'),
      };
      await Promise.all(Object.values(files).map((file) => writeFile(file, '')));
      const printed: string[] = [];
      const runner = processRunner(
        files,
        (text) => printed.push(text),
        (text) => printed.push(text),
      );
      runner.mask('Zq8sJ2vN5xT1mK9p');
      runner.mask('Zq8sJ2vN5xT1mK9p');
      const leaky = 'GET https://u:pw@h.example/x?sig=abc gave Zq8sJ2vN5xT1mK9p';
      runner.error(leaky, { title: 'at s3://AKIA:secret@bucket/p' });
      runner.warning(leaky);
      runner.notice(leaky);
      runner.info(leaky);
      runner.group(leaky, [leaky]);
      runner.debug(leaky);
      runner.setOutput('message', leaky);
      runner.appendSummary(leaky);
      const redacted = 'GET https://REDACTED@h.example/x?sig=REDACTED gave ***';
      const shown = printed.filter((text) => !text.startsWith('::add-mask::')).join('');
      expect(shown).not.toMatch(/pw@|sig=abc|Zq8sJ2vN5xT1mK9p/);
      expect(printed.filter((line) => line.startsWith('::add-mask::'))).toHaveLength(1);
      expect(workflowCommands(printed.join('')).find((c) => c.command === 'error')).toEqual({
        command: 'error',
        properties: { title: 'at s3://REDACTED@bucket/p' },
        message: redacted,
      });
      expect(parseFileCommands(await readFile(files.GITHUB_OUTPUT, 'utf8'))).toEqual({
        message: redacted,
      });
      expect(await readFile(files.GITHUB_STEP_SUMMARY, 'utf8')).toBe(redacted);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  test('a file command outside a runner says what is missing', () => {
    expect(() => processRunner({}, () => {}).setOutput('a', 'b')).toThrow(
      'GITHUB_OUTPUT is not set',
    );
  });
});

describe('inputs', () => {
  test('defaults, and keys one per line with commas kept', () => {
    expect(
      readInputs(runnerWith({ keys: ' a, b \n\n c ', 'management-types': 'local, versioned' })),
    ).toEqual({
      workingDirectory: '.',
      keys: ['a, b', 'c'],
      management: ['local', 'versioned'],
      storageUrl: undefined,
      instanceConfig: undefined,
      concurrency: undefined,
      retries: undefined,
      pin: false,
      verify: false,
      merge: false,
    });
  });

  test('a shard as i/n or auto, and merge alone', () => {
    expect(readInputs(runnerWith({ shard: '3/8' })).shard).toEqual({ index: 3, total: 8 });
    expect(readInputs(runnerWith({ shard: 'auto' })).shard).toBe('auto');
    expect(readInputs(runnerWith({ merge: 'true' })).merge).toBe(true);
  });

  test.each([
    [{ concurrency: '0' }, 'input concurrency: "0" is not a whole number ≥ 1'],
    [{ retries: '-1' }, 'input retries: "-1" is not a whole number ≥ 0'],
    [{ pin: 'yes' }, 'input pin: "yes" is not a boolean'],
    [{ 'management-types': 'remote' }, 'input management-types: unknown management type "remote"'],
    [{ shard: '0/8' }, 'input shard "0/8" is not a shard'],
    [
      { merge: 'true', keys: 'a' },
      'input merge: true refreshes nothing, so it takes no keys input',
    ],
  ])('%o is refused, naming the input', (inputs, message) => {
    expect(() => readInputs(runnerWith(inputs))).toThrow(message);
  });

  test('numbers and booleans as the YAML core schema spells them', () => {
    const inputs = readInputs(
      runnerWith({ concurrency: '4', retries: '0', pin: 'True', verify: 'FALSE' }),
    );
    expect(inputs).toMatchObject({ concurrency: 4, retries: 0, pin: true, verify: false });
  });
});
