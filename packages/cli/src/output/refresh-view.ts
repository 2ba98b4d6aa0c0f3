import type { KeyResult, RefreshEvent, RefreshReport } from '@defstate/core';
import { formatBytes, formatDuration, shortKey } from './format.js';
import { paint, type Terminal } from './terminal.js';

/** Shows a refresh as it happens. */
export interface RefreshView {
  onEvent(event: RefreshEvent): void;
  finish(report: RefreshReport): void;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * On a terminal: finished keys scroll up as permanent lines (✓/✗, duration, outcome), while a
 * small live region at the bottom shows a header with counts and a spinner row per running key.
 * The region holds only running keys, so 500 components never redraw 500 lines.
 */
export class LiveRefreshView implements RefreshView {
  readonly #running = new Map<string, { management: string; started: number; note?: string }>();
  readonly #counts = { refreshed: 0, unchanged: 0, failed: 0, cancelled: 0, 'not-run': 0 };
  #drawnLines = 0;
  #frame = 0;
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly terminal: Terminal,
    private readonly total: number,
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
            ? event.message
            : `retry ${event.attempt} in ${formatDuration(event.delayMs)}: ${firstLine(event.error.message)}`;
      }
    } else {
      this.#running.delete(event.result.key);
      this.#counts[event.result.status]++;
      this.#clear();
      this.terminal.line(resultLine(this.terminal, event.result));
    }
    this.#draw();
  }

  finish(report: RefreshReport): void {
    clearInterval(this.#timer);
    this.#clear();
    this.terminal.write('\u001b[?25h');
    printSummary(this.terminal, report);
  }

  #clear(): void {
    if (this.#drawnLines > 0) this.terminal.write(`\u001b[${this.#drawnLines}A\u001b[0J`);
    this.#drawnLines = 0;
  }

  #draw(): void {
    this.#clear();
    const spinner = SPINNER[this.#frame++ % SPINNER.length] as string;
    const done = this.#counts.refreshed + this.#counts.unchanged + this.#counts.failed;
    const lines = [
      paint(
        this.terminal,
        'bold',
        `Refreshing ${done}/${this.total} · ${this.#counts.refreshed} refreshed · ${this.#counts.unchanged} unchanged · ${this.#counts.failed} failed`,
      ),
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

/** Off a terminal (CI logs, pipes): one plain line per event that matters, no control codes. */
export class PlainRefreshView implements RefreshView {
  constructor(private readonly terminal: Terminal) {}

  onEvent(event: RefreshEvent): void {
    if (event.type === 'retry') {
      this.terminal.line(
        `retry   ${event.key}: attempt ${event.attempt} failed (${firstLine(event.error.message)}); retrying in ${formatDuration(event.delayMs)}`,
      );
    } else if (event.type === 'end') {
      this.terminal.line(resultLine(this.terminal, event.result));
    }
  }

  finish(report: RefreshReport): void {
    printSummary(this.terminal, report);
  }
}

function resultLine(terminal: Terminal, result: KeyResult): string {
  const time = formatDuration(result.durationMs);
  if (result.status === 'failed') {
    return `${paint(terminal, 'red', '✗')} ${result.key} (${result.management}) ${paint(terminal, 'red', 'failed')} ${time}: ${firstLine(result.error?.message ?? 'unknown error')}`;
  }
  if (result.status === 'cancelled' || result.status === 'not-run') {
    const word = result.status === 'cancelled' ? 'cancelled' : 'not run';
    return `${paint(terminal, 'yellow', '-')} ${result.key} (${result.management}) ${paint(terminal, 'yellow', word)}`;
  }
  const info = result.info;
  const detail = info ? ` ${info.version} ${formatBytes(info.size)}` : '';
  const word =
    result.status === 'refreshed'
      ? paint(terminal, 'green', 'refreshed')
      : paint(terminal, 'dim', 'unchanged');
  return `${paint(terminal, 'green', '✓')} ${result.key} (${result.management}) ${word} ${time}${paint(terminal, 'dim', detail)}`;
}

function printSummary(terminal: Terminal, report: RefreshReport): void {
  const count = (status: KeyResult['status']) =>
    report.results.filter((result) => result.status === status).length;
  const failures = report.results.filter((result) => result.status === 'failed');
  if (failures.length > 0) {
    terminal.line();
    terminal.line(
      paint(terminal, 'red', `${failures.length} key${failures.length > 1 ? 's' : ''} failed:`),
    );
    for (const failure of failures) {
      terminal.line(
        `  ${failure.key} (${failure.management}): ${indent(failure.error?.message ?? 'unknown error')}`,
      );
      const cause = failure.error?.cause;
      if (cause instanceof Error && !failure.error?.message.includes(cause.message)) {
        terminal.line(`    caused by: ${indent(cause.message)}`);
      }
    }
  }
  const where = report.storeLocation ? ` · versioned store ${report.storeLocation}` : '';
  const stopped = report.interrupted
    ? `, ${count('cancelled')} cancelled, ${count('not-run')} not run: interrupted`
    : '';
  terminal.line(
    `${report.results.length} key${report.results.length === 1 ? '' : 's'}: ${count('refreshed')} refreshed, ${count('unchanged')} unchanged, ${count('failed')} failed${stopped} in ${formatDuration(report.durationMs)}${where}`,
  );
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0] as string;
}

function indent(text: string): string {
  return text.replaceAll('\n', '\n    ');
}

function truncate(text: string, width: number): string {
  // Colour codes make the visible width smaller than the length; cut generously.
  return text.length > width + 20 ? `${text.slice(0, width + 19)}…` : text;
}
