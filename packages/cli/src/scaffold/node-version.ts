import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exists, readPackageJson } from './files.js';
import { foldersUpTo } from './package-manager.js';

/** The Node.js major used when the project names none: the active LTS line. */
export const DEFAULT_NODE_MAJOR = 24;

/** Which Node.js the project wants, for `actions/setup-node` and for the Docker base image. */
export interface NodeVersion {
  /** The file setup-node reads (`node-version-file`): `.nvmrc`, `.node-version` or a package.json. */
  file?: string;
  /** The tag of the `node` image: `20.19.0`, `22`, … */
  imageTag: string;
  /** Its major version, e.g. to know whether corepack ships with it (it does up to 24). */
  major: number;
  /** For the comments: where the version came from. */
  source: string;
}

/**
 * Looks for `.nvmrc`, then `.node-version`, then `engines.node`, in the project and its parents
 * up to `topRoot`; the nearest wins. With none, Node.js {@link DEFAULT_NODE_MAJOR}.
 */
export async function detectNodeVersion(
  projectRoot: string,
  topRoot: string,
): Promise<NodeVersion> {
  for (const folder of foldersUpTo(projectRoot, topRoot)) {
    for (const name of ['.nvmrc', '.node-version']) {
      const file = join(folder, name);
      if (!(await exists(file))) continue;
      const text = (await readFile(file, 'utf8')).trim();
      const exact = /^v?(\d+)(\.\d+){0,2}$/.exec(text);
      if (exact) {
        return {
          file,
          imageTag: text.replace(/^v/, ''),
          major: Number(exact[1]),
          source: `from ${name}: ${text}`,
        };
      }
      // `lts/*`, `node`, `lts/jod`: setup-node resolves these itself; the image takes the default.
      return {
        file,
        imageTag: String(DEFAULT_NODE_MAJOR),
        major: DEFAULT_NODE_MAJOR,
        source: `${name} says ${text}; the image takes the active LTS`,
      };
    }
    const manifest = join(folder, 'package.json');
    const range = (await readPackageJson(manifest))?.engines?.node;
    if (typeof range === 'string' && range.trim()) {
      const major = majorForRange(range);
      return {
        file: manifest,
        imageTag: String(major),
        major,
        source: `fits engines.node ${range}`,
      };
    }
  }
  return {
    imageTag: String(DEFAULT_NODE_MAJOR),
    major: DEFAULT_NODE_MAJOR,
    source: 'the active LTS: no .nvmrc, .node-version or engines.node',
  };
}

/**
 * A Node.js major that satisfies an `engines.node` range, preferring the default LTS line:
 * `>=20.19` → 24, `^22.12.0` → 22, `20 || 22` → 22, `>=26` → 26. It reads the common forms only
 * and falls back to the default; the result is a starting point the user can edit.
 */
export function majorForRange(range: string): number {
  const majors = range
    .split('||')
    .map((alternative) => {
      const comparators = alternative
        .replace(/([<>=~^])\s+/g, '$1')
        .trim()
        .split(/\s+/)
        .filter(Boolean);
      const lower = comparators.find((part) => /^>=?v?\d/.test(part));
      const upper = comparators.find((part) => /^<=?v?\d/.test(part));
      const pinned = comparators.find((part) => /^[\^~=]?v?\d/.test(part));
      if (pinned && !lower && !upper) return leadingNumber(pinned);
      if (!lower) return undefined;
      const from = leadingNumber(lower) as number;
      const below = upper ? (leadingNumber(upper) as number) : Number.POSITIVE_INFINITY;
      const candidate = Math.max(from, DEFAULT_NODE_MAJOR);
      return candidate < below || (upper?.startsWith('<=') && candidate <= below)
        ? candidate
        : from;
    })
    .filter((major): major is number => major !== undefined && Number.isFinite(major));
  return majors.length ? Math.max(...majors) : DEFAULT_NODE_MAJOR;
}

function leadingNumber(text: string): number | undefined {
  const match = /(\d+)/.exec(text);
  return match ? Number(match[1]) : undefined;
}
