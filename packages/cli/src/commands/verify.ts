import {
  devOnlyDependencyWarning,
  devOnlyRuntimeDependencies,
  type ManagementType,
  type Project,
  resolveStorage,
  type VerifyReport,
  verifyState,
} from '@defstate/core';
import { ExitCode } from '../exit-codes.js';
import { printJson } from '../output/json.js';
import { count, warningMessage } from '../output/messages.js';
import { paint, terminalFor } from '../output/terminal.js';
import { commandProject } from '../project.js';
import { storeOpener } from '../storage.js';

export interface VerifyCommandOptions {
  key: string[];
  managementType: ManagementType[];
  project?: string;
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
  const project = await commandProject(options.project);
  await warnDevOnlyDependencies(project, options.storage);
  const storage = storeOpener(project.root, options.storage);
  const report = await verifyState(project, {
    keys: options.key,
    management: options.managementType,
    openStore: storage.open,
    maxAgeMs: options.maxAge,
    deep: options.deep,
    // Keys the project no longer declares are looked for only when every key is checked.
    undeclared: options.key.length === 0 && options.managementType.length === 0,
  }).finally(storage.close);
  if (options.json) {
    printJson(verifyJson(report));
  } else {
    const errors = terminalFor(process.stderr);
    for (const warning of report.warnings) {
      errors.line(
        `${paint(errors, 'yellow', '!')} ${warning.key}: ${warning.code}: ${warning.message}`,
      );
    }
    for (const problem of report.problems) {
      errors.line(
        `${paint(errors, 'red', '✗')} ${problem.key ?? '(project)'}: ${problem.code}: ${problem.message}`,
      );
    }
    const pinned = report.pinFile ? `, pinned in ${report.pinFile}` : ', no pin file';
    const out = terminalFor(process.stdout);
    const checked = `${count(report.keys.length, 'key')} checked${pinned}`;
    const warned = report.warnings.length
      ? ` (${count(report.warnings.length, 'warning')}: undeclared keys in the store)`
      : '';
    out.line(
      report.ok
        ? `${paint(out, 'green', '✓')} ${checked}: all good${warned}`
        : `${checked}: ${count(report.problems.length, 'problem')}${warned}`,
    );
  }
  return report.ok ? ExitCode.ok : ExitCode.failed;
}

/**
 * A deployed app needs @defstate/core and the store's adapter at run time: warn when the project
 * lists either only as a devDependency, which an image built with --omit=dev leaves out. Only a
 * warning: verify checks state, and the project may install differently in its image.
 */
async function warnDevOnlyDependencies(project: Project, storageUrl: string | undefined) {
  const versioned = project.components.some(({ management }) => management === 'versioned');
  // An instance config that cannot be read is the store opener's error to report, just after.
  const selection = versioned
    ? await resolveStorage({ storageUrl, cwd: project.root }).catch(() => undefined)
    : undefined;
  const found = await devOnlyRuntimeDependencies(project.root, {
    adapter: selection?.adapter,
    versioned,
  });
  for (const dependency of found) warningMessage(devOnlyDependencyWarning(dependency));
}

export function verifyJson(report: VerifyReport) {
  return {
    schemaVersion: 1,
    ok: report.ok,
    pinFile: report.pinFile ?? null,
    store: report.storeLocation ?? null,
    problems: report.problems,
    warnings: report.warnings,
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
