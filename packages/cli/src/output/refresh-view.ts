import type { KeyResult, RefreshEvent } from '@defstate/core';
import { isVerbose, traceError, VERBOSE_HINT } from '../diagnostics.js';
import { formatBytes, formatDuration, shortKey } from './format.js';
import { count } from './messages.js';
import {
  countOutcomes,
  OUTCOME_WORDS,
  type Outcome,
  type ShownResult,
  shownResult,
} from './outcomes.js';
import { paint, type Terminal } from './terminal.js';

/** Shows a refresh as it happens. */
export interface RefreshView {
  onEvent(event: RefreshEvent): void;
  /** The run was asked to stop: keys still running are being cancelled. */
  interrupting(signal: string): void;
  finish(summary: RefreshSummary): void;
}

export interface RefreshSummary {
  results: readonly ShownResult[];
  durationMs: number;
  storeLocation?: string;
  interrupted: boolean;
}

export interface RefreshViewOptions {
  /** `--timeout` as the user wrote it, so a timeout is reported in their words. */
  timeoutText?: string;
  timeoutMs?: number;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * On a terminal: finished keys scroll up as permanent lines (✓/✗, duration, outcome), while a
 * small live region at the bottom shows a header with counts and a spinner row per running key.
 * The region holds only running keys, so 500 components never redraw 500 lines.
 */
export class LiveRefreshView implements RefreshView {
  readonly #running = new Map<string, { management: string; started: number; note?: string }>();
  readonly #finished: ShownResult[] = [];
  #stopping: string | undefined;
  #drawnLines = 0;
  #frame = 0;
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly terminal: Terminal,
    private readonly total: number,
    private readonly options: RefreshViewOptions = {},
  ) {
    this.terminal.write('\u001b[?25l');
    this.#timer = setInterval(() => this.#draw(), 80);
    this.#timer.unref();
  }

  onEvent(event: RefreshEvent): void {
    if (event.type === 'start')
      this.#running.set(event.key, { management: event.management, started: performance.now() });
    else if (event.type === 'log' || event.type === 'retry') {
      const row = this.#running.get(event.key);
      if (row) {
        row.note =
          event.type === 'log'
            ? lastLine(event.message)
            : `retry ${event.attempt} in ${formatDuration(event.delayMs)}: ${firstLine(event.error.message)}`;
      }
    } else {
      const result = shownResult(event.result, this.#stopping !== undefined);
      this.#running.delete(result.key);
      this.#finished.push(result);
      const line = resultLine(this.terminal, result, this.options);
      if (line) {
        this.#clear();
        this.terminal.line(line);
      }
    }
    this.#draw();
  }

  interrupting(signal: string): void {
    this.#stopping = signal;
    this.#draw();
  }

  finish(summary: RefreshSummary): void {
    clearInterval(this.#timer);
    this.#clear();
    this.terminal.write('\u001b[?25h');
    printSummary(this.terminal, summary, this.options);
  }

  #clear(): void {
    if (this.#drawnLines > 0) this.terminal.write(`\u001b[${this.#drawnLines}A\u001b[0J`);
    this.#drawnLines = 0;
  }

  #draw(): void {
    this.#clear();
    const spinner = SPINNER[this.#frame++ % SPINNER.length] as string;
    const counts = countOutcomes(this.#finished);
    const heading = this.#stopping
      ? `Stopping (${this.#stopping}): cancelling ${count(this.#running.size, 'running key')}…`
      : `Refreshing ${this.#finished.length}/${this.total} · ${counts.refreshed} refreshed · ${counts.unchanged} unchanged · ${counts.failed} failed`;
    const lines = [
      paint(this.terminal, 'bold', heading),
      ...[...this.#running].map(([key, row]) => {
        const elapsed = formatDuration(performance.now() - row.started);
        const note = row.note ? paint(this.terminal, 'dim', ` ${row.note}`) : '';
        return truncate(
          `${paint(this.terminal, 'cyan', spinner)} ${shortKey(key)} (${row.management}) ${elapsed}${note}`,
          this.terminal.width,
        );
      }),
    ];
    this.terminal.write(`${lines.join('\n')}\n`);
    this.#drawnLines = lines.length;
  }
}

/**
 * Off a terminal (CI logs, pipes): one plain line per event that matters, no control codes. A
 * component's log() lines are printed as they come, each prefixed with its key, since keys run
 * at the same time.
 */
export class PlainRefreshView implements RefreshView {
  #stopping = false;

  constructor(
    private readonly terminal: Terminal,
    private readonly options: RefreshViewOptions = {},
  ) {}

  onEvent(event: RefreshEvent): void {
    if (event.type === 'log') {
      for (const line of event.message.split(/\r\n|\r|\n/)) {
        this.terminal.line(`[${event.key}] ${line}`);
      }
    } else if (event.type === 'retry') {
      this.terminal.line(
        `retry   ${event.key}: attempt ${event.attempt} failed (${firstLine(event.error.message)}); retrying in ${formatDuration(event.delayMs)}`,
      );
    } else if (event.type === 'end') {
      const line = resultLine(
        this.terminal,
        shownResult(event.result, this.#stopping),
        this.options,
      );
      if (line) this.terminal.line(line);
    }
  }

  interrupting(signal: string): void {
    this.#stopping = true;
    this.terminal.line(`${signal} received: cancelling the running keys; no new key starts.`);
  }

  finish(summary: RefreshSummary): void {
    printSummary(this.terminal, summary, this.options);
  }
}

/** One finished key; keys that never ran get no line of their own (the summary counts them). */
function resultLine(
  terminal: Terminal,
  result: ShownResult,
  options: RefreshViewOptions,
): string | undefined {
  const time = formatDuration(result.durationMs);
  const where = `${result.key} (${result.management})`;
  switch (result.status) {
    case 'not-run':
      return undefined;
    case 'cancelled':
      return `${paint(terminal, 'yellow', '○')} ${where} ${paint(terminal, 'yellow', 'cancelled')} ${time}`;
    case 'failed':
      return `${paint(terminal, 'red', '✗')} ${where} ${paint(terminal, 'red', 'failed')} ${time}: ${firstLine(failureMessage(result, options))}`;
    default: {
      const info = result.info;
      const detail = info ? ` ${info.version} ${formatBytes(info.size)}` : '';
      const word =
        result.status === 'refreshed'
          ? paint(terminal, 'green', 'refreshed')
          : paint(terminal, 'dim', 'unchanged');
      return `${paint(terminal, 'green', '✓')} ${where} ${word} ${time}${paint(terminal, 'dim', detail)}`;
    }
  }
}

/** The failure's message, a timeout told in the words the user gave `--timeout`. */
export function failureMessage(result: Pick<KeyResult, 'error'>, options: RefreshViewOptions) {
  const message = result.error?.message ?? 'unknown error';
  const { timeoutMs, timeoutText } = options;
  if ((result.error as { code?: unknown } | undefined)?.code !== 'TIMEOUT') return message;
  if (timeoutMs === undefined || timeoutText === undefined) return message;
  return message.replace(`${timeoutMs} ms`, `--timeout ${timeoutText}`);
}

function printSummary(
  terminal: Terminal,
  summary: RefreshSummary,
  options: RefreshViewOptions,
): void {
  const failures = summary.results.filter((result) => result.status === 'failed');
  if (failures.length > 0) {
    terminal.line();
    terminal.line(paint(terminal, 'red', `${count(failures.length, 'key')} failed:`));
    for (const failure of failures) {
      terminal.line(
        `  ${failure.key} (${failure.management}): ${indent(failureMessage(failure, options))}`,
      );
      const cause = failure.error?.cause;
      if (cause instanceof Error && !failure.error?.message.includes(cause.message)) {
        terminal.line(`    caused by: ${indent(cause.message)}`);
      }
    }
    if (isVerbose()) {
      for (const failure of failures)
        traceError(`${failure.key} (${failure.management})`, failure.error);
    } else {
      terminal.line(paint(terminal, 'dim', `  (${VERBOSE_HINT})`));
    }
  }
  const counts = countOutcomes(summary.results);
  // Always the first two; the others only when they happened, so a clean run reads as before.
  const shown: Outcome[] = summary.interrupted
    ? ['refreshed', 'unchanged', 'failed', 'cancelled', 'not-run']
    : ['refreshed', 'unchanged', 'failed'];
  const parts = shown
    .filter(
      (outcome) =>
        outcome === 'refreshed' ||
        outcome === 'unchanged' ||
        !summary.interrupted ||
        counts[outcome] > 0,
    )
    .map((outcome) => `${counts[outcome]} ${OUTCOME_WORDS[outcome]}`);
  const where = summary.storeLocation ? ` · versioned store ${summary.storeLocation}` : '';
  const time = formatDuration(summary.durationMs);
  const ending = summary.interrupted
    ? ` · ${paint(terminal, 'yellow', 'interrupted')} after ${time}`
    : ` in ${time}`;
  terminal.line(`${count(summary.results.length, 'key')}: ${parts.join(', ')}${ending}${where}`);
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0] as string;
}

function lastLine(text: string): string {
  return (
    text
      .split(/\r\n|\r|\n/)
      .filter(Boolean)
      .at(-1) ?? ''
  );
}

function indent(text: string): string {
  return text.replaceAll('\n', '\n    ');
}

function truncate(text: string, width: number): string {
  // Colour codes make the visible width smaller than the length; cut generously.
  return text.length > width + 20 ? `${text.slice(0, width + 19)}…` : text;
}
