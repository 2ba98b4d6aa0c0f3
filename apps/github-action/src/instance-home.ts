/**
 * The `instance-config` input becomes a private `DEFSTATE_HOME`: a folder only this user can
 * enter (0700) under `RUNNER_TEMP`, holding `defstate.yaml` only this user can read (0600). The
 * runner empties `RUNNER_TEMP` at the end of the job. The content is never printed; the values
 * that look secret are masked before anything else runs (see secret-values.ts).
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
