// Runs `node <args>` as a child process and collects what it prints. Shared by the tests that
// spawn the built `defstate` or a worker script, so each suite does not carry its own copy.
import { spawn } from 'node:child_process';

/**
 * Resolves when the process ends, whatever its exit code: the caller asserts on `code`.
 * `onSpawn` gets the child, e.g. to kill it part-way; `node` runs another Node binary than this
 * one (the GitHub Action's tests run Node 24, as the runner does).
 */
export function runNode(args, { cwd, env, onSpawn, node = process.execPath } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(node, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    onSpawn?.(child);
  });
}
