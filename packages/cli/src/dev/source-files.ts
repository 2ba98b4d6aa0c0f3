import { readFile, stat } from 'node:fs/promises';
import { dirname, extname, join, relative, resolve } from 'node:path';

/**
 * The files `defstate dev --watch` watches: the project config and every file it imports by a
 * relative path, transitively — the components' sources. Imports are read from the text (static
 * `import … from`, `export … from`, `import()` and `require()` of a literal path), so nothing is
 * run to find them; packages (bare specifiers) are not followed.
 */
export async function sourceFiles(configFile: string): Promise<string[]> {
  const root = dirname(configFile);
  const seen = new Set<string>();
  const queue = [resolve(configFile)];
  while (queue.length > 0) {
    const file = queue.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    for (const specifier of relativeImports(text)) {
      const target = await resolveImport(dirname(file), specifier);
      // Only the project's own files: never node_modules, never outside the project.
      if (
        !target ||
        target.includes(`${join('node_modules')}`) ||
        relative(root, target).startsWith('..')
      ) {
        continue;
      }
      if (!seen.has(target)) queue.push(target);
    }
  }
  return [...seen].sort();
}

const IMPORT_PATTERNS = [
  /\b(?:import|export)\s[^'"`;]*?\bfrom\s*['"](\.{1,2}\/[^'"]+)['"]/g,
  /\bimport\s*['"](\.{1,2}\/[^'"]+)['"]/g,
  /\bimport\s*\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g,
  /\brequire\s*\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g,
];

export function relativeImports(text: string): string[] {
  const found = new Set<string>();
  for (const pattern of IMPORT_PATTERNS) {
    for (const match of text.matchAll(pattern)) found.add(match[1] as string);
  }
  return [...found];
}

const EXTENSIONS = ['.ts', '.mts', '.cts', '.tsx', '.js', '.mjs', '.cjs', '.jsx', '.json'];

/** The file an import names: as written, with an extension, TypeScript's `.js` → `.ts`, or an index. */
async function resolveImport(from: string, specifier: string): Promise<string | undefined> {
  const base = resolve(from, specifier.split('?')[0] as string);
  const candidates = [base, ...EXTENSIONS.map((extension) => `${base}${extension}`)];
  const extension = extname(base);
  if (['.js', '.mjs', '.cjs', '.jsx'].includes(extension)) {
    const stem = base.slice(0, -extension.length);
    candidates.push(...['.ts', '.mts', '.cts', '.tsx'].map((typed) => `${stem}${typed}`));
  }
  candidates.push(...EXTENSIONS.map((index) => join(base, `index${index}`)));
  for (const candidate of candidates) {
    if ((await stat(candidate).catch(() => undefined))?.isFile()) return candidate;
  }
  return undefined;
}
