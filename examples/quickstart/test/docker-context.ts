/**
 * Copies a folder the way `docker build` sends it as the build context and `COPY . .` puts it in
 * the image: everything except what `.dockerignore` leaves out. The tests run without Docker, so
 * the artifact test builds its "image" with this. It follows Docker's rules for the patterns this
 * example uses: paths relative to the context root (a leading `/` is dropped), `*` and `?` within
 * one path segment, `**` across any number of segments (none included), `!` to take a path back,
 * the last matching line wins, and a pattern that matches a folder leaves out all of it.
 * Character classes (`[a-z]`) and escapes are refused rather than guessed at.
 */
import { cp, mkdir, readdir, readFile } from 'node:fs/promises';
import { join, posix } from 'node:path';

interface Rule {
  pattern: string;
  regex: RegExp;
  include: boolean;
}

export async function readDockerignore(contextRoot: string): Promise<Rule[]> {
  const text = await readFile(join(contextRoot, '.dockerignore'), 'utf8').catch(
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return '';
      throw error;
    },
  );
  return text.split(/\r?\n/).flatMap((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return [];
    const include = line.startsWith('!');
    const pattern = posix.normalize(include ? line.slice(1).trim() : line).replace(/^\/+/, '');
    if (/[[\]\\]/.test(pattern)) {
      throw new Error(
        `.dockerignore:${index + 1}: "${line}" uses a character class or an escape, which this copy does not implement.`,
      );
    }
    return [{ pattern, regex: patternToRegex(pattern), include }];
  });
}

function patternToRegex(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i] as string;
    if (char === '*' && pattern[i + 1] === '*') {
      // `**/` is any number of whole segments, none included; a trailing `**` is anything.
      if (pattern[i + 2] === '/') {
        source += '(?:.*/)?';
        i += 2;
      } else {
        source += '.*';
        i += 1;
      }
    } else if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else source += char.replace(/[.+^${}()|]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/** Whether `path` (relative, `/`-separated) is left out: it or a folder above it matches last. */
export function isIgnored(path: string, rules: readonly Rule[]): boolean {
  const segments = path.split('/');
  const candidates = segments.map((_, index) => segments.slice(0, index + 1).join('/'));
  let ignored = false;
  for (const rule of rules) {
    if (candidates.some((candidate) => rule.regex.test(candidate))) ignored = !rule.include;
  }
  return ignored;
}

/** Copies `contextRoot` to `target` minus what `.dockerignore` leaves out; returns the copied files. */
export async function copyBuildContext(contextRoot: string, target: string): Promise<string[]> {
  const rules = await readDockerignore(contextRoot);
  const reincludes = rules.some((rule) => rule.include);
  const copied: string[] = [];
  const walk = async (relative: string): Promise<void> => {
    const entries = await readdir(join(contextRoot, relative), { withFileTypes: true });
    for (const entry of entries) {
      const path = relative === '' ? entry.name : `${relative}/${entry.name}`;
      const ignored = isIgnored(path, rules);
      if (entry.isDirectory()) {
        // Docker only looks inside a left-out folder when a `!` line may take something back.
        if (!ignored || reincludes) await walk(path);
      } else if (!ignored) {
        await mkdir(join(target, relative), { recursive: true });
        // Symbolic links are copied as links, as COPY does.
        await cp(join(contextRoot, path), join(target, path), { verbatimSymlinks: true });
        copied.push(path);
      }
    }
  };
  await mkdir(target, { recursive: true });
  await walk('');
  return copied.sort();
}
