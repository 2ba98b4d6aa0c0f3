/**
 * Reading the example's source files. Every problem names the file (and line, when known) relative
 * to the project, and a component reports all the problems it found at once, so one failed refresh
 * in CI shows every broken file instead of one per run.
 */
import { readdir, readFile } from 'node:fs/promises';
import { basename, extname, join, posix } from 'node:path';

export interface SourceProblem {
  /** The file, relative to the project root, with `/` separators. */
  file: string;
  line?: number;
  message: string;
}

export class InvalidSourceError extends Error {
  readonly problems: readonly SourceProblem[];

  constructor(problems: readonly SourceProblem[]) {
    const lines = problems.map(formatProblem);
    super(
      lines.length === 1
        ? `${lines[0]}`
        : `${lines.length} problems in the sources:\n${lines.map((line) => `  ${line}`).join('\n')}`,
    );
    this.name = 'InvalidSourceError';
    this.problems = problems;
  }
}

export function formatProblem({ file, line, message }: SourceProblem): string {
  return `${line === undefined ? file : `${file}:${line}`}: ${message}`;
}

/** Throws one `InvalidSourceError` listing every problem, if there are any. */
export function throwIfProblems(problems: readonly SourceProblem[]): void {
  if (problems.length > 0) throw new InvalidSourceError(problems);
}

/** The files in `folder` (relative to the project) ending in `extension`, sorted by name. */
export async function listSourceFiles(
  projectRoot: string,
  folder: string,
  extension: string,
  signal: AbortSignal,
): Promise<string[]> {
  signal.throwIfAborted();
  let names: string[];
  try {
    names = await readdir(join(projectRoot, folder));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InvalidSourceError([
      {
        file: folder,
        message:
          code === 'ENOENT'
            ? 'the folder does not exist'
            : `cannot read the folder (${code ?? String(error)})`,
      },
    ]);
  }
  const files = names
    .filter((name) => extname(name) === extension && !name.startsWith('.'))
    .sort()
    .map((name) => posix.join(folder, name));
  if (files.length === 0) {
    throw new InvalidSourceError([
      { file: folder, message: `the folder holds no *${extension} files` },
    ]);
  }
  return files;
}

/** The text of a source file; a missing or unreadable file is an `InvalidSourceError`. */
export async function readSourceText(
  projectRoot: string,
  file: string,
  signal: AbortSignal,
): Promise<string> {
  try {
    return await readFile(join(projectRoot, file), { encoding: 'utf8', signal });
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new InvalidSourceError([
      {
        file,
        message:
          code === 'ENOENT' ? 'the file does not exist' : `cannot read it (${code ?? error})`,
      },
    ]);
  }
}

/** Parses JSON; a syntax error becomes a problem on the line where the parser stopped. */
export function parseJsonSource(
  text: string,
  file: string,
): { value: unknown } | { problem: SourceProblem } {
  try {
    return { value: JSON.parse(text) };
  } catch (error) {
    const message = (error as Error).message;
    const position = /at position (\d+)/.exec(message)?.[1];
    const line =
      position === undefined ? undefined : text.slice(0, Number(position)).split('\n').length;
    return {
      problem: { file, line, message: `invalid JSON: ${describeJsonError(message)}` },
    };
  }
}

/** Node's JSON messages end with the position or echo the whole text; the line says enough. */
function describeJsonError(message: string): string {
  return message.replace(/ in JSON at position.*$/s, '').replace(/, ".*" is not valid JSON$/s, '');
}

/** `sources/services/auth.json` → `auth`. */
export function baseName(file: string): string {
  return basename(file, extname(file));
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Problems for fields a descriptor may not have: a typo such as `dependecies` is caught early. */
export function unknownFields(
  value: Record<string, unknown>,
  allowed: readonly string[],
  file: string,
  where = '',
): SourceProblem[] {
  return Object.keys(value)
    .filter((field) => !allowed.includes(field))
    .map((field) => ({
      file,
      message: `${where}unknown field "${field}"; expected ${allowed.map((name) => `"${name}"`).join(', ')}`,
    }));
}

/**
 * Orders by name, by UTF-16 code unit rather than locale: the state's bytes, and so its sha256,
 * must not depend on the machine that refreshed it, or every CI run would make a new version.
 */
export function byName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
