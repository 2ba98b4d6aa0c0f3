import type { ChildProcess } from 'node:child_process';

export interface NodeRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function runNode(
  args: readonly string[],
  options?: {
    cwd?: string;
    env?: NodeJS.ProcessEnv;
    onSpawn?: (child: ChildProcess) => void;
    /** The Node binary to run; this process's own by default. */
    node?: string;
  },
): Promise<NodeRun>;
