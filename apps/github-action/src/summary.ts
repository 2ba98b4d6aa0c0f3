/**
 * The job summary: a Markdown table of every selected key, then what pinning and verifying did.
 * Keys and messages are user text, so every cell is escaped (a `|` would end the cell, a `<`
 * would start HTML).
 */
import type { KeyResult, RefreshReport, VerifyReport } from '@defstate/core';

export interface SummaryInput {
  refresh: RefreshReport;
  /** Absent when verify was not asked for; `skipped` when the refresh failed first. */
  verify?: VerifyReport | 'skipped';
  pin: boolean;
}

const STATUS_ICON: Readonly<Record<KeyResult['status'], string>> = {
  refreshed: '✅',
  unchanged: '⚪',
  failed: '❌',
  cancelled: '⏹️',
  'not-run': '⏸️',
};

export function summaryMarkdown({ refresh, verify, pin }: SummaryInput): string {
  const counts = countOutcomes(refresh.results);
  const verified = verify === undefined || verify === 'skipped' || verify.ok;
  const ok = refresh.ok && verified;
  const parts = [
    `## ${ok ? '✅' : '❌'} defstate refresh`,
    '',
    `${refresh.results.length} key${refresh.results.length === 1 ? '' : 's'}: ${counts.refreshed} refreshed, ${counts.unchanged} unchanged, ${counts.failed} failed in ${formatDuration(refresh.durationMs)}${refresh.storeLocation ? ` · store ${code(refresh.storeLocation)}` : ''}`,
    '',
    '| Key | Management | Status | Version | Updated | Size | Duration |',
    '| --- | --- | --- | --- | --- | ---: | ---: |',
    ...refresh.results.map((result) =>
      row([
        code(result.key),
        result.management,
        `${STATUS_ICON[result.status]} ${result.status}`,
        result.info ? code(result.info.version) : '—',
        result.info ? formatTime(result.info.createdAt) : '—',
        result.info ? formatSize(result.info.size) : '—',
        formatDuration(result.durationMs),
      ]),
    ),
    '',
  ];
  const failures = refresh.results.filter((result) => result.status === 'failed');
  if (failures.length > 0) {
    parts.push('### Failures', '');
    for (const result of failures) {
      parts.push(`- ${code(result.key)}: ${cell(result.error ? failureCause(result.error) : '')}`);
    }
    parts.push('');
  }
  if (pin) {
    if (refresh.pinFile && refresh.pins) {
      const pinned = Object.keys(refresh.pins.keys).length;
      parts.push(
        `📌 Pinned ${pinned} key${pinned === 1 ? '' : 's'} in ${code(refresh.pinFile)}.`,
        '',
      );
    } else {
      const why = refresh.pinError?.message ?? 'the refresh failed';
      parts.push(`📌 ${cell(why.startsWith('Not pinned') ? why : `Not pinned: ${why}`)}`, '');
    }
  }
  if (verify === 'skipped') {
    parts.push('### Verify', '', 'Skipped: the refresh failed.', '');
  } else if (verify) {
    parts.push('### Verify', '');
    if (verify.ok) {
      parts.push(
        `✅ ${verify.keys.length} key${verify.keys.length === 1 ? '' : 's'} verified${verify.pinFile ? ` against ${code(verify.pinFile)}` : ''}.`,
        '',
      );
    } else {
      parts.push('| Key | Problem | Details |', '| --- | --- | --- |');
      for (const problem of verify.problems) {
        parts.push(
          row([
            problem.key === null ? '—' : code(problem.key),
            problem.code,
            cell(problem.message),
          ]),
        );
      }
      parts.push('');
    }
  }
  return `${parts.join('\n')}\n`;
}

/** The summary of a run that stopped before any key was refreshed. */
export function failureMarkdown(error: unknown): string {
  return `## ❌ defstate refresh\n\n${cell(failureCause(error))}\n`;
}

export function countOutcomes(results: readonly KeyResult[]) {
  return {
    refreshed: results.filter((result) => result.status === 'refreshed').length,
    unchanged: results.filter((result) => result.status === 'unchanged').length,
    failed: results.filter((result) => result.status === 'failed').length,
  };
}

/** The message, and the cause's when it says something the message does not. */
export function failureCause(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  const cause = error.cause instanceof Error ? error.cause.message : undefined;
  const head = typeof code === 'string' ? `${code}: ${error.message}` : error.message;
  return cause && !error.message.includes(cause) ? `${head}\n  cause: ${cause}` : head;
}

function row(cells: string[]): string {
  return `| ${cells.join(' | ')} |`;
}

/** Escapes text for one Markdown table cell (or list item). */
function cell(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\|/g, '&#124;')
    .replace(/`/g, '&#96;')
    .replace(/\r?\n/g, '<br>');
}

function code(text: string): string {
  return `<code>${cell(text)}</code>`;
}

export function formatSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${Math.round((ms % 60_000) / 1000)} s`;
}

function formatTime(iso: string): string {
  return iso
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC')
    .replace(/Z$/, ' UTC');
}
