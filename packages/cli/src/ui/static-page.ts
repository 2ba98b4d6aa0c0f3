import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  type BlobStore,
  type ManagementType,
  type Project,
  type StatusReport,
  UsageError,
} from '@defstate/core';
import { redactDocument } from '../output/redact.js';
import { type PageHistory, readStaticHistories } from './key-history.js';
import { renderPage } from './page.js';
import {
  buildStatusView,
  collectStatusView,
  HEALTH_ORDER,
  readDeployFacts,
  type StatusView,
} from './status-view.js';

/**
 * `defstate status --html`: the page as one file, built from the status the command has just
 * read (no second read of the store), or, when that read failed, from its error.
 */
export async function writeStaticStatusPage(
  file: string,
  project: Project,
  read: { view: StatusView } | { report: StatusReport } | { error: unknown },
  options: {
    keys?: readonly string[];
    management?: readonly ManagementType[];
    maxAgeMs?: number;
    /** The store the status was read from: the page then carries the keys' histories. */
    openStore?: () => Promise<BlobStore>;
  },
): Promise<void> {
  let view: StatusView;
  if ('view' in read) {
    view = read.view;
  } else if ('report' in read) {
    const { pins, lastRefresh, problem } = await readDeployFacts(project.root);
    view = buildStatusView({
      project: project.root,
      keys: read.report.keys,
      storeLocation: read.report.storeLocation,
      undeclared: read.report.undeclared,
      pins,
      lastRefresh,
      error: problem,
      maxAgeMs: options.maxAgeMs,
    });
  } else {
    // The same fallback as the live page: local keys read, versioned ones unknown, the error shown.
    view = await collectStatusView(project, {
      ...options,
      openStore: () => Promise.reject(read.error),
    });
  }
  let histories: PageHistory[] | undefined;
  if (options.openStore && !('error' in read)) {
    // Those needing attention first, as the page lists them.
    const keys = [...view.keys]
      .sort((a, b) => HEALTH_ORDER.indexOf(a.health) - HEALTH_ORDER.indexOf(b.health))
      .map((key) => key.key);
    const { pins } = await readDeployFacts(project.root);
    // Redacted as the view is: this run's own secrets too, and any URL's query.
    histories = redactDocument(
      await readStaticHistories(project, keys, { openStore: options.openStore, pins }),
    );
  }
  const page = await renderPage({ mode: 'static', view, ...(histories ? { histories } : {}) });
  await writeFile(file, page).catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(`Cannot write the status page to ${resolve(file)} (${error.code}).`, {
      cause: error,
      hint: 'check that --html names a file in a folder that exists and is writable',
    });
  });
}
