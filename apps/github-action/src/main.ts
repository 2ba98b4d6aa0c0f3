/**
 * The action's entry (bundled to dist/index.js, run by the runner under Node 24): it reads the
 * inputs and calls `run()`; the one `catch` reports any failure and makes the step fail, so the
 * job stops before the image is built.
 */
import { setMaxListeners } from 'node:events';
import { readInputs } from './inputs.js';
import { ActionFailedError, failureMessage, reportFailure, run } from './run.js';
import { processRunner } from './runner.js';

const runner = processRunner();
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
  if (!result.ok) throw new ActionFailedError(failureMessage(result));
} catch (error) {
  reportFailure(runner, error, process.env.GITHUB_WORKSPACE);
  process.exitCode = 1;
}
