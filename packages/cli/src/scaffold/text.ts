import type { PackageManager } from './package-manager.js';

/**
 * A commented-out block the user may switch on (cloud logins, the optional `pull`). Tests render
 * it switched on (`active`) so the linters check it too, not only the lines that run.
 */
export function optional(lines: readonly string[], indent: string, active: boolean): string[] {
  return lines.map((line) =>
    active ? `${indent}${line}` : line ? `${indent}# ${line}` : `${indent}#`,
  );
}

export function indented(lines: readonly string[], indent: string): string[] {
  return lines.map((line) => (line ? `${indent}${line}` : line));
}

const PLAIN_SCALAR = /^[A-Za-z0-9_.][A-Za-z0-9_./@-]*$/;
// Strings YAML 1.1 or 1.2 would read as a boolean, null or number.
const YAML_SPECIAL =
  /^(?:true|false|yes|no|on|off|y|n|null|~|\.inf|\.nan|[-+]?(?:\d[\d_]*)?\.?\d+(?:e[-+]?\d+)?)$/i;

/** A YAML scalar: plain when that reads back as the same string, else double-quoted. */
export function yamlScalar(value: string): string {
  return PLAIN_SCALAR.test(value) && !YAML_SPECIAL.test(value) ? value : JSON.stringify(value);
}

/** A key as it is shown in a comment: one line whatever it holds. */
export function commentSafe(text: string): string {
  return text.replace(/[\u2028\u2029]/g, (character) =>
    character === '\u2028' ? '\\u2028' : '\\u2029',
  );
}

/** The command that runs the project's own `defstate` binary with this package manager. */
export function execDefstate(packageManager: PackageManager): string {
  switch (packageManager.name) {
    case 'pnpm':
      return 'pnpm exec defstate';
    case 'yarn':
      return 'yarn defstate';
    case 'bun':
      return 'bun x defstate';
    default:
      return 'npx --no-install defstate';
  }
}

/** The CI install: exact, from the lockfile when there is one. */
export function ciInstall(packageManager: PackageManager): string {
  const locked = packageManager.lockfile !== undefined;
  switch (packageManager.name) {
    case 'pnpm':
      return locked ? 'pnpm install --frozen-lockfile' : 'pnpm install';
    case 'yarn':
      if (!locked) return 'yarn install';
      return packageManager.yarnBerry
        ? 'yarn install --immutable'
        : 'yarn install --frozen-lockfile';
    case 'bun':
      return locked ? 'bun install --frozen-lockfile' : 'bun install';
    default:
      return locked ? 'npm ci' : 'npm install';
  }
}

/** A GitHub Actions expression, `${{ inner }}`. */
export function expression(inner: string): string {
  return `\${{ ${inner} }}`;
}
