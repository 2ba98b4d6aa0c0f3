/**
 * The `instance-config` input becomes a private `DEFSTATE_HOME`: a folder only this user can
 * enter (0700) under `RUNNER_TEMP`, holding `defstate.yaml` only this user can read (0600). The
 * runner empties `RUNNER_TEMP` at the end of the job. The content is never printed; the values
 * that look secret are masked before anything else runs.
 */
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { INSTANCE_CONFIG_FILE, UsageError } from '@defstate/core';

export interface InstanceHome {
  /** The folder to use as `DEFSTATE_HOME`. */
  home: string;
  /** Its `defstate.yaml`. */
  file: string;
}

export async function writeInstanceHome(
  content: string,
  runnerTemp: string | undefined,
): Promise<InstanceHome> {
  if (!runnerTemp || !isAbsolute(runnerTemp)) {
    throw new UsageError(
      'RUNNER_TEMP is not set to an absolute folder, so instance-config has nowhere private to go.',
      { hint: 'Run the action as a step of a GitHub Actions job, where the runner sets it.' },
    );
  }
  const home = await mkdtemp(join(runnerTemp, 'defstate-home-'));
  await chmod(home, 0o700);
  const file = join(home, INSTANCE_CONFIG_FILE);
  // 'wx': the file is new, so no one could have opened it before its mode was set.
  await writeFile(file, content.endsWith('\n') ? content : `${content}\n`, {
    mode: 0o600,
    flag: 'wx',
  });
  await chmod(file, 0o600);
  return { home, file };
}

// Key names whose values are secrets in any config we know of (accountKey, sasToken,
// connectionString, secretAccessKey, password, clientSecret, privateKey, credentials, …).
const SECRET_NAME = /key|secret|token|passw|credential|connection|sas|signature|auth|private/i;
// A value that looks like a credential whatever its name: long, one word, mixed-case with digits,
// and not a path (a temp folder's random name would otherwise qualify; URLs have a `:`).
const CREDENTIAL_LIKE = /^(?![./~])(?=.*[a-z])(?=.*[A-Z])(?=.*\d)[A-Za-z0-9+/=_.~-]{20,}$/;
// Values too common to mask: masking `true` would hide every `true` in the job's logs.
const TOO_COMMON = /^(?:true|false|yes|no|on|off|null|~|-?\d+(?:\.\d+)?)$/i;
const ENTRY = /^(\s*)(?:-\s+)?(["']?)([^"':#]+)\2\s*:(?:\s+(.*))?$/;
const BLOCK_SCALAR = /^[|>][+-]?\d*\s*(?:#.*)?$/;

/**
 * The values in a YAML instance config that the job's logs must never show, line by line (the
 * runner masks one line at a time). It reads lines, not YAML, so that it works on a config too
 * broken to parse, which is exactly when an error message might quote it:
 * - every value, and every line of a block scalar, under a key whose name looks secret;
 * - every value that looks like a credential (20+ characters, upper- and lower-case and digits);
 * - and, within those, never booleans, numbers or values shorter than 4 characters.
 * A reference like `${env:NAME}` is not a secret; the variable's value is masked by the runner
 * when it comes from `secrets.*`.
 */
export function secretValues(content: string): string[] {
  const found = new Set<string>();
  const add = (value: string) => {
    const bare = unquote(value.trim());
    if (bare.length >= 4 && !TOO_COMMON.test(bare) && !/^\$\{env:[^}]*\}$/.test(bare)) {
      found.add(bare);
    }
  };
  let block: { indent: number } | undefined;
  for (const line of content.split(/\r?\n/)) {
    const indent = line.length - line.trimStart().length;
    if (block) {
      if (!line.trim() || indent > block.indent) {
        add(line);
        continue;
      }
      block = undefined;
    }
    const entry = ENTRY.exec(line);
    const value = stripComment(entry?.[4] ?? (entry ? '' : line.trim().replace(/^-\s+/, '')));
    const secretName = entry ? SECRET_NAME.test(entry[3] ?? '') : false;
    if (secretName && BLOCK_SCALAR.test(value)) {
      block = { indent: entry?.[1]?.length ?? 0 };
      continue;
    }
    if (!value) continue;
    if (secretName || CREDENTIAL_LIKE.test(unquote(value))) add(value);
  }
  return [...found];
}

function unquote(value: string): string {
  const quoted = /^(["'])(.*)\1$/.exec(value);
  return quoted ? (quoted[2] ?? '') : value;
}

function stripComment(value: string): string {
  const quoted = /^(["']).*?\1/.exec(value);
  if (quoted) return quoted[0];
  return value.replace(/\s+#.*$/, '').trim();
}
