import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { actionlint, makeGitRoot, writeFiles } from './fixtures/scaffold/projects.js';

// Every YAML block in every Markdown file of the repository parses, and every GitHub Actions
// workflow among them passes actionlint (with shellcheck on its run: scripts), as a reader who
// copies one would find it.

const REPO = fileURLToPath(new URL('../../../', import.meta.url));

interface Block {
  file: string;
  line: number;
  text: string;
}

function markdownFiles(): string[] {
  return execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.md'], {
    cwd: REPO,
    encoding: 'utf8',
  })
    .split('\n')
    .filter((file) => file && !file.includes('node_modules/') && !file.startsWith('.changeset/'));
}

async function yamlBlocks(): Promise<Block[]> {
  const blocks: Block[] = [];
  for (const file of markdownFiles()) {
    const text = await readFile(join(REPO, file), 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    for (const match of text.matchAll(/^([ \t]*)```(ya?ml)[^\n]*\n([\s\S]*?)^\1```[ \t]*$/gm)) {
      const indent = match[1] ?? '';
      const body = (match[3] ?? '')
        .split('\n')
        .map((line) => (line.startsWith(indent) ? line.slice(indent.length) : line))
        .join('\n');
      blocks.push({ file, line: text.slice(0, match.index).split('\n').length, text: body });
    }
  }
  return blocks;
}

const isWorkflow = (value: unknown): boolean =>
  typeof value === 'object' && value !== null && 'jobs' in value && 'on' in value;

let blocks: Block[];
let scratch: string;
beforeAll(async () => {
  blocks = await yamlBlocks();
  scratch = await mkdtemp(join(tmpdir(), 'defstate-docs-'));
  await makeGitRoot(scratch);
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('YAML in the docs', () => {
  it('finds the blocks it checks, workflows among them', async () => {
    expect(blocks.length).toBeGreaterThan(10);
    expect(
      blocks.filter((block) => parseAllDocuments(block.text).some((doc) => isWorkflow(doc.toJS())))
        .length,
    ).toBeGreaterThanOrEqual(1);
  });

  it('parses every block', () => {
    const broken = blocks.flatMap((block) =>
      parseAllDocuments(block.text).flatMap((document) =>
        document.errors.map(
          (error) => `${block.file}:${block.line}: ${error.message.split('\n')[0]}`,
        ),
      ),
    );
    expect(broken).toEqual([]);
  });

  it('passes actionlint on every workflow', async () => {
    const failures: string[] = [];
    let index = 0;
    for (const block of blocks) {
      const documents = parseAllDocuments(block.text);
      if (!documents.some((document) => isWorkflow(document.toJS()))) continue;
      const name = `.github/workflows/doc-${index++}.yml`;
      await writeFiles(scratch, { [name]: block.text });
      const lint = await actionlint(join(scratch, name));
      if (lint.code !== 0) failures.push(`${block.file}:${block.line}:\n${lint.output}`);
    }
    expect(failures).toEqual([]);
  });
});
