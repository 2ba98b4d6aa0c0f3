import { isIP } from 'node:net';
import { ExitCode } from '../exit-codes.js';
import { unredactedWriter } from '../output/guard.js';
import { warningMessage } from '../output/messages.js';
import { paint, terminalFor } from '../output/terminal.js';
import { commandProject } from '../project.js';
import { type StoreOpener, storeOpener } from '../storage.js';
import { startUiServer } from '../ui/server.js';

export interface UiCommandOptions {
  project?: string;
  storage?: string;
  port?: number;
  host: string;
  maxAge?: number;
  allowWrites?: boolean;
}

export const DEFAULT_UI_PORT = 4777;

/** `defstate ui`: serves the status page until Ctrl-C or SIGTERM, then exits 0. */
export async function uiCommand(options: UiCommandOptions): Promise<number> {
  const project = await commandProject(options.project);
  const storage = retryingStoreOpener(project.root, options.storage);
  const terminal = terminalFor(process.stdout);
  const server = await startUiServer({
    project,
    openStore: storage.open,
    host: options.host,
    port: options.port ?? DEFAULT_UI_PORT,
    maxAgeMs: options.maxAge,
    allowWrites: options.allowWrites === true,
    onWrite: ({ ok, line }) =>
      terminal.line(
        `${ok ? paint(terminal, 'cyan', 'changed') : paint(terminal, 'red', 'failed')} ${line}`,
      ),
  });
  const mode = options.allowWrites
    ? paint(
        terminal,
        'yellow',
        'refresh and rollback allowed from this address only, each after a confirmation',
      )
    : 'read-only';
  terminal.line(`Status page of ${project.root}`);
  // The one secret printed on purpose: the address's `?token=` is this run's own write secret,
  // made for this terminal, so it passes by the redaction every other line gets.
  unredactedWriter(process.stdout)(
    `  ${paint(terminal, 'bold', server.url)}  (${mode}; Ctrl-C to stop)\n`,
  );
  if (!isLoopback(options.host)) {
    warningMessage(
      `listening on ${options.host}: other machines that can reach it can read the page${options.allowWrites ? ' and change state' : ''}.`,
    );
  }
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  await storage.close();
  return ExitCode.ok;
}

/**
 * The shared opener keeps its first attempt; a page that stays open should recover once the
 * store is reachable again, so a failed open is forgotten and the next poll tries afresh.
 */
function retryingStoreOpener(projectRoot: string, storageUrl: string | undefined): StoreOpener {
  let current = storeOpener(projectRoot, storageUrl);
  return {
    open: async () => {
      const attempt = current;
      try {
        return await attempt.open();
      } catch (error) {
        if (current === attempt) current = storeOpener(projectRoot, storageUrl);
        throw error;
      }
    },
    close: () => current.close(),
  };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}
