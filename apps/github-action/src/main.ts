/**
 * The action's entry (bundled to dist/index.js, run by the runner under Node 24): it reads the
 * inputs and calls `run()`; the one `catch` reports any failure and makes the step fail, so the
 * job stops before the image is built.
 */
import { setMaxListeners } from 'node:events';

// The AWS SDK prints a notice about future Node.js support when an S3 store opens on an older
// Node; nothing a workflow can act on mid-step. Its own switch turns it off unless set already.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

import { environmentSecrets } from '@defstate/core';
import { readInputs } from './inputs.js';
import { guardStreams } from './output-guard.js';
import { ActionFailedError, failureMessage, reportFailure, run } from './run.js';
import { processRunner } from './runner.js';

// The runner writes through the streams' own writers; anything else written (a component's
// console.log) is shown as the runner would show it.
const writers = guardStreams((text) => runner.shown(text));
const runner = processRunner(process.env, writers.stdout, writers.stderr);
// Masked before anything else, the inputs' too (they are INPUT_* variables): even a bad input's
// error comes after. run() adds what only parsing instance-config finds.
for (const secret of environmentSecrets(process.env)) {
  for (const line of secret.split(/\r?\n/)) runner.mask(line);
}
// A cancelled job gets SIGINT, then SIGTERM: stop the refreshes instead of being killed mid-write.
const controller = new AbortController();
setMaxListeners(0, controller.signal);
process.once('SIGINT', () => controller.abort());
process.once('SIGTERM', () => controller.abort());

try {
  const result = await run(readInputs(runner), {
    runner,
    env: process.env,
    cwd: process.cwd(),
    signal: controller.signal,
  });
  if (!result.ok) {
    throw new ActionFailedError(failureMessage(result, controller.signal.aborted));
  }
} catch (error) {
  reportFailure(runner, error, process.env.GITHUB_WORKSPACE);
  process.exitCode = 1;
}

// The step is done. A component may have left a timer or a socket open, which would keep the
// step running until the job's time-out: end the process once its output is written.
await Promise.all(
  [process.stdout, process.stderr].map(
    (stream) =>
      new Promise<void>((resolve) => {
        if (stream.writableLength === 0) resolve();
        else stream.write('', () => resolve());
      }),
  ),
);
process.exit();
