/**
 * The job summary: a Markdown table of every selected key, then what pinning and verifying did.
 * Keys and messages are user text, so every cell is escaped (a `|` would end the cell, a `<`
 * would start HTML).
 */
import type { KeyResult, RefreshReport, ShardPlan, VerifyReport } from '@defstate/core';
import { count, failureText } from './messages.js';

export interface SummaryInput {
  refresh: RefreshReport;
  /** Absent when verify was not asked for; `skipped` when the refresh failed first. */
  verify?: VerifyReport | 'skipped';
  pin: boolean;
  /** The job was cancelled part way. */
  interrupted?: boolean;
  /** With the `shard` input: this shard's part of the selected keys. */
  shard?: ShardPlan;
}

/**
 * A key's outcome. Core's engine also reports `cancelled` (stopped by a cancelled job) and
 * `not-run` (never started because of one); until its `KeyOutcome` names them, this is the
 * action's view of the wider union.
 */
export type Outcome = 'refreshed' | 'unchanged' | 'failed' | 'cancelled' | 'not-run';

const STATUS_ICON: Readonly<Record<Outcome, string>> = {
  refreshed: '✅',
  unchanged: '⚪',
  failed: '❌',
  cancelled: '⏹️',
  'not-run': '⏸️',
};

/** Once a job is cancelled, a key stopped with core's "cancelled" error was cancelled, not failed. */
export function outcomeOf(result: KeyResult, interrupted: boolean): Outcome {
  const status = result.status as Outcome;
  const aborted = (result.error as { code?: unknown } | undefined)?.code === 'ABORTED';
  return interrupted && status === 'failed' && aborted ? 'cancelled' : status;
}

export function summaryMarkdown({
  refresh,
  verify,
  pin,
  interrupted = false,
  shard,
}: SummaryInput): string {
  const counts = countOutcomes(refresh.results, interrupted);
  const verified = verify === undefined || verify === 'skipped' || verify.ok;
  const ok = refresh.ok && verified && !interrupted;
  const stopped = [
    counts.cancelled > 0 && `${counts.cancelled} cancelled`,
    counts['not-run'] > 0 && `${counts['not-run']} not run`,
  ].filter(Boolean);
  const parts = [
    `## ${ok ? '✅' : interrupted ? '⏹️' : '❌'} defstate refresh${shard ? ` (shard ${shard.index} of ${shard.total})` : ''}${interrupted ? ' (cancelled)' : ''}`,
    '',
    ...(shard ? [shardLine(shard), ''] : []),
    `${count(refresh.results.length, 'key')}: ${counts.refreshed} refreshed, ${counts.unchanged} unchanged, ${counts.failed} failed${stopped.length ? `, ${stopped.join(', ')}` : ''} in ${formatDuration(refresh.durationMs)}${refresh.storeLocation ? ` · store ${code(refresh.storeLocation)}` : ''}`,
    '',
    '| Key | Management | Status | Version | Updated | Size | Duration |',
    '| --- | --- | --- | --- | --- | ---: | ---: |',
    ...refresh.results.map((result) =>
      row([
        code(result.key),
        result.management,
        `${STATUS_ICON[outcomeOf(result, interrupted)]} ${outcomeOf(result, interrupted)}`,
        result.info ? code(result.info.version) : '—',
        result.info ? formatTime(result.info.createdAt) : '—',
        result.info ? formatSize(result.info.size) : '—',
        formatDuration(result.durationMs),
      ]),
    ),
    '',
  ];
  const failures = refresh.results.filter((result) => outcomeOf(result, interrupted) === 'failed');
  if (failures.length > 0) {
    parts.push('### Failures', '');
    for (const result of failures) {
      parts.push(`- ${code(result.key)}: ${cell(result.error ? failureText(result.error) : '')}`);
    }
    parts.push('');
  }
  if (pin) {
    if (refresh.pinFile && refresh.pins) {
      const pinned = Object.keys(refresh.pins.keys).length;
      parts.push(
        shard
          ? `📌 Pinned this shard’s ${pinned} key${pinned === 1 ? '' : 's'} in the partial pin file ${code(refresh.pinFile)}: a job with \`merge: true\` combines every shard’s into the pin file.`
          : `📌 Pinned ${pinned} key${pinned === 1 ? '' : 's'} in ${code(refresh.pinFile)}.`,
        '',
      );
    } else {
      const why =
        counts.failed > 0
          ? `${count(counts.failed, 'key')} failed to refresh; the pin file was left as it was.`
          : interrupted
            ? 'the run was cancelled; the pin file was left as it was.'
            : (refresh.pinError?.message ?? 'the refresh failed');
      parts.push(`📌 ${cell(`Not pinned: ${why}`)}`, '');
    }
  }
  parts.push(...verifySection(verify));
  return `${parts.join('\n')}\n`;
}

/** What `verify` found, as a section of the summary; nothing when it was not asked for. */
function verifySection(verify: VerifyReport | 'skipped' | undefined): string[] {
  const parts: string[] = [];
  if (verify === 'skipped') {
    parts.push('### Verify', '', 'Skipped: the refresh failed.', '');
  } else if (verify) {
    parts.push('### Verify', '');
    if (verify.ok) {
      parts.push(
        `✅ ${count(verify.keys.length, 'key')} verified${verify.pinFile ? ` against ${code(verify.pinFile)}` : ''}.`,
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
  return parts;
}

/** The summary of `merge: true`: what was merged into the pin file, then what verify found. */
export function mergeSummaryMarkdown(input: {
  pinFile: string;
  keys: number;
  total: number;
  verify?: VerifyReport;
}): string {
  const ok = input.verify?.ok ?? true;
  return `${[
    `## ${ok ? '✅' : '❌'} defstate merge`,
    '',
    `📌 Pinned ${count(input.keys, 'key')} in ${code(input.pinFile)}, merged from the partial pin files of ${count(input.total, 'shard')}.`,
    '',
    ...verifySection(input.verify),
  ].join('\n')}\n`;
}

function shardLine(plan: ShardPlan): string {
  const by =
    plan.balancedBy === 'durations'
      ? 'balanced by each key’s last refresh duration'
      : 'balanced by count';
  return `Shard ${plan.index} of ${plan.total}: ${count(plan.keys.length, 'key')} of ${plan.selected}, ${by}${plan.planId ? ` (plan ${code(plan.planId.slice(0, 12))})` : ''}.`;
}

/** The summary of a run that stopped before any key was refreshed. */
export function failureMarkdown(error: unknown): string {
  return `## ❌ defstate refresh\n\n${cell(failureText(error))}\n`;
}

export function countOutcomes(
  results: readonly KeyResult[],
  interrupted = false,
): Record<Outcome, number> {
  const counts: Record<Outcome, number> = {
    refreshed: 0,
    unchanged: 0,
    failed: 0,
    cancelled: 0,
    'not-run': 0,
  };
  for (const result of results) counts[outcomeOf(result, interrupted)] += 1;
  return counts;
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
