import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { findShellcheck } from './fixtures/scaffold/projects.js';
import { createSandbox, runDefstate } from './helpers.js';

// docs/ci.md shows the deploy flow for GitLab CI and a plain shell script. These tests keep it
// true to the real CLI: every `defstate …` it shows is a command with those options, the GitLab
// pipeline has the flow's shape, and every shell line passes shellcheck.

const DOC = fileURLToPath(new URL('../../../docs/ci.md', import.meta.url));
let doc: string;
beforeAll(async () => {
  doc = await readFile(DOC, 'utf8');
});

/** The fenced code blocks of `language`, in order. */
function blocks(language: string): string[] {
  return [...doc.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)]
    .filter((match) => match[1] === language)
    .map((match) => match[2] as string);
}

/** Everything shown as code: fenced blocks and inline spans. */
function codeText(): string[] {
  const fenced = [...doc.matchAll(/^```\w*\n([\s\S]*?)^```$/gm)].map((match) => match[1] as string);
  const prose = doc.replace(/^```\w*\n[\s\S]*?^```$/gm, '');
  const inline = [...prose.matchAll(/`([^`\n]+)`/g)].map((match) => match[1] as string);
  return [...fenced.flatMap((block) => block.split('\n')), ...inline];
}

function shellcheck(script: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      findShellcheck(),
      ['--shell=bash', '--format=gcc', '-'],
      (error, stdout, stderr) => {
        resolve({ code: error ? Number(error.code ?? 1) : 0, output: `${stdout}${stderr}` });
      },
    );
    child.stdin?.end(script);
  });
}

async function parseYaml(text: string): Promise<unknown> {
  // yaml is @defstate/core's dependency, not the CLI's: resolve it from core.
  const require = createRequire(import.meta.url);
  const core = require.resolve('@defstate/core');
  const yaml = (await import(pathToFileURL(createRequire(core).resolve('yaml')).href)) as {
    parse: (source: string) => unknown;
  };
  return yaml.parse(text);
}

interface GitLabJob {
  stage: string;
  needs?: string[];
  script: string[];
  before_script?: string[];
  artifacts?: { paths: string[] };
}

describe('docs/ci.md', () => {
  it('shows only real commands and options of defstate', async () => {
    const shown = new Map<string, Set<string>>();
    for (const line of codeText()) {
      for (const match of line.matchAll(/(?<![@/\w.-])defstate ([a-z][a-z-]*)([^`#|;&]*)/g)) {
        const command = match[1] as string;
        const options = shown.get(command) ?? new Set<string>();
        for (const option of (match[2] ?? '').matchAll(/(?:^|\s)(--?[a-z][a-z-]*)/g)) {
          options.add(option[1] as string);
        }
        shown.set(command, options);
      }
    }
    // The flow's commands are all there.
    expect([...shown.keys()]).toEqual(
      expect.arrayContaining(['deploy', 'verify', 'pull', 'refresh', 'scaffold', 'status']),
    );
    const sandbox = await createSandbox();
    try {
      for (const [command, options] of shown) {
        const help = await runDefstate([command, '--help'], {
          cwd: sandbox.project,
          env: sandbox.env,
        });
        expect(help.code, `defstate ${command} --help: ${help.stderr}`).toBe(0);
        expect(help.stdout).toContain(`Usage: defstate ${command} `);
        for (const option of options) {
          expect(help.stdout, `defstate ${command} has no ${option}`).toMatch(
            new RegExp(`(^|[\\s,])${option}[\\s,]`, 'm'),
          );
        }
      }
    } finally {
      await sandbox.cleanup();
    }
  });

  it('shows a GitLab pipeline that refreshes, verifies, then builds with the refreshed state', async () => {
    const [pipelineText] = blocks('yaml').filter((block) => block.startsWith('stages:'));
    expect(pipelineText).toBeDefined();
    const pipeline = (await parseYaml(pipelineText as string)) as Record<string, GitLabJob> & {
      stages: string[];
    };
    expect(pipeline.stages).toEqual(['state', 'image']);
    const refresh = pipeline['refresh-state'] as GitLabJob;
    const build = pipeline['build-image'] as GitLabJob;
    expect(refresh.stage).toBe('state');
    expect(build.stage).toBe('image');

    const deploy = refresh.script.indexOf('npx defstate deploy');
    const verify = refresh.script.indexOf('npx defstate verify');
    expect(deploy).toBeGreaterThan(0);
    expect(verify).toBeGreaterThan(deploy);
    expect(refresh.artifacts?.paths).toEqual(['.local_defs_state/']);
    // The image job gets the artifact, and builds the folder that holds it.
    expect(build.needs).toEqual(['refresh-state']);
    expect(build.script.some((line) => /^docker build .* \.$/.test(line))).toBe(true);
  });

  it('every shell line it shows passes shellcheck', async () => {
    const scripts: string[] = [];
    for (const block of blocks('yaml')) {
      const parsed = (await parseYaml(block)) as Record<string, unknown>;
      // A whole pipeline (jobs) or a fragment of one job (before_script at the top level).
      const jobs = 'before_script' in parsed ? [parsed] : Object.values(parsed);
      for (const job of jobs) {
        if (!job || typeof job !== 'object') continue;
        const { before_script = [], script = [] } = job as Partial<GitLabJob>;
        if (before_script.length || script.length) {
          scripts.push([...before_script, ...script].join('\n'));
        }
      }
    }
    const [plain] = blocks('bash');
    expect(plain).toMatch(/^#!\/usr\/bin\/env bash\n/);
    scripts.push(plain as string);
    expect(scripts.length).toBeGreaterThanOrEqual(5); // two jobs, three cloud logins, the script
    for (const script of scripts) {
      const result = await shellcheck(script.startsWith('#!') ? script : `#!/bin/bash\n${script}`);
      expect(result.output, script).toBe('');
      expect(result.code).toBe(0);
    }
  });

  it('runs the plain script’s flow in order and stops on the first failure', () => {
    const [plain] = blocks('bash');
    const order = [
      'set -euo pipefail',
      'npm ci',
      'npx defstate deploy',
      'npx defstate verify',
      'docker build',
    ];
    const positions = order.map((text) => (plain as string).indexOf(`\n${text}`));
    for (const position of positions) expect(position).toBeGreaterThan(0);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  });
});
