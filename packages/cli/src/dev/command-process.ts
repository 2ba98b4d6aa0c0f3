import { type ChildProcess, spawn } from 'node:child_process';

/**
 * The command `defstate dev` runs: started with the development environment, stopped on
 * SIGTERM (then SIGKILL if it does not go), restarted by `--watch`. A single argument that holds
 * spaces is run by the shell, as `defstate dev -- "npm run dev"` reads.
 */
export class CommandProcess {
  #child: ChildProcess | undefined;
  #exited: Promise<number> | undefined;

  constructor(
    private readonly command: readonly string[],
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  /** Starts the command; resolves with its exit code (128 + n for a signal) when it ends. */
  start(): Promise<number> {
    const [file, ...args] = this.command as [string, ...string[]];
    const viaShell = this.command.length === 1 && /\s/.test(file);
    const child = spawn(file, args, { stdio: 'inherit', env: this.env, shell: viaShell });
    this.#child = child;
    this.#exited = new Promise((resolve) => {
      child.once('error', (error) => {
        process.stderr.write(`defstate dev: cannot run ${file}: ${error.message}\n`);
        resolve(127);
      });
      child.once('exit', (code, signal) => {
        if (this.#child === child) this.#child = undefined;
        resolve(code ?? 128 + (signal ? (SIGNALS[signal] ?? 1) : 1));
      });
    });
    return this.#exited;
  }

  /** Asks the command to stop (SIGTERM), and kills it if it has not after `graceMs`. */
  async stop(graceMs = 5_000): Promise<void> {
    const child = this.#child;
    const exited = this.#exited;
    if (!child || !exited) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    try {
      await exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Passes a signal on to the command, if it runs. */
  signal(name: NodeJS.Signals): void {
    this.#child?.kill(name);
  }
}

const SIGNALS: Readonly<Record<string, number>> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };
