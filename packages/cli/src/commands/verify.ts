import { loadProject, type ManagementType, type VerifyReport, verifyState } from '@defstate/core';
import { ExitCode } from '../exit-codes.js';
import { paint, terminalFor } from '../output/terminal.js';
import { storeOpener } from '../storage.js';

export interface VerifyCommandOptions {
  key: string[];
  managementType: ManagementType[];
  project: string;
  storage?: string;
  maxAge?: number;
  deep?: boolean;
  json?: boolean;
}

/**
 * `defstate verify`: the CI gate. Quiet and exit 0 when all is well; otherwise one line per
 * problem, `<key>: <code>: <what>`, on stderr, and exit 1.
 */
export async function verifyCommand(options: VerifyCommandOptions): Promise<number> {
  const project = await loadProject(options.project);
  const storage = storeOpener(project.root, options.storage);
  const report = await verifyState(project, {
    keys: options.key,
    management: options.managementType,
    openStore: storage.open,
    maxAgeMs: options.maxAge,
    deep: options.deep,
  }).finally(storage.close);
  if (options.json) {
    process.stdout.write(`${JSON.stringify(verifyJson(report), null, 2)}\n`);
  } else {
    const errors = terminalFor(process.stderr);
    for (const problem of report.problems) {
      errors.line(
        `${paint(errors, 'red', '✗')} ${problem.key ?? '(project)'}: ${problem.code}: ${problem.message}`,
      );
    }
    const pinned = report.pinFile ? `, pinned in ${report.pinFile}` : ', no pin file';
    const out = terminalFor(process.stdout);
    const checked = `${report.keys.length} key${report.keys.length === 1 ? '' : 's'} checked${pinned}`;
    out.line(
      report.ok
        ? `${paint(out, 'green', '✓')} ${checked}: all good`
        : `${checked}: ${report.problems.length} problem${report.problems.length === 1 ? '' : 's'}`,
    );
  }
  return report.ok ? ExitCode.ok : ExitCode.failed;
}

export function verifyJson(report: VerifyReport) {
  return {
    schemaVersion: 1,
    ok: report.ok,
    pinFile: report.pinFile ?? null,
    store: report.storeLocation ?? null,
    problems: report.problems,
    keys: report.keys.map(({ key, management, info, pinned, ok }) => ({
      key,
      management,
      ok,
      pinned,
      version: info?.version ?? null,
      createdAt: info?.createdAt ?? null,
      sha256: info?.sha256 ?? null,
      size: info?.size ?? null,
    })),
  };
}
