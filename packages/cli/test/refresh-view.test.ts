import { AbortedError, type KeyResult, RefreshFailedError } from '@defstate/core';
import { describe, expect, it } from 'vitest';
import { refreshJson } from '../src/commands/refresh.js';
import { type ShownResult, shownResult } from '../src/output/outcomes.js';
import { PlainRefreshView } from '../src/output/refresh-view.js';
import type { Terminal } from '../src/output/terminal.js';

// The outcomes an interrupted run reports (core's engine: `cancelled` for keys stopped part way,
// `not-run` for keys never started, `interrupted` on the report), as the CLI shows them.

function recorder(): Terminal & { text(): string } {
  const lines: string[] = [];
  return {
    stream: process.stdout,
    live: false,
    color: false,
    width: 100,
    write: (text) => lines.push(text),
    line: (text = '') => lines.push(`${text}\n`),
    text: () => lines.join(''),
  };
}

const result = (key: string, status: string, error?: Error): KeyResult =>
  ({ key, management: 'local', status, durationMs: 5, attempts: 1, error }) as KeyResult;

const interruptedRun: KeyResult[] = [
  result('a', 'refreshed'),
  result('b', 'cancelled', new AbortedError('Refresh of "b" was cancelled.')),
  ...Array.from({ length: 25 }, (_, index) => result(`n${index}`, 'not-run')),
];

describe('an interrupted run, as shown', () => {
  it('prints one line per cancelled key, none per key not run, and an "interrupted" summary', () => {
    const terminal = recorder();
    const view = new PlainRefreshView(terminal);
    view.interrupting('SIGINT');
    for (const entry of interruptedRun) view.onEvent({ type: 'end', result: entry });
    view.finish({
      results: interruptedRun.map((entry) => shownResult(entry, true)),
      durationMs: 2500,
      interrupted: true,
    });
    const text = terminal.text();
    expect(text).toContain('○ b (local) cancelled');
    expect(text).not.toMatch(/n\d+ \(local\)/);
    expect(text).not.toMatch(/failed|was cancelled|✗/);
    expect(text.trim().split('\n').at(-1)).toBe(
      '27 keys: 1 refreshed, 0 unchanged, 1 cancelled, 25 not run · interrupted after 2.5s',
    );
  });

  it('the engine’s "cancelled" failure reads as cancelled once the run is interrupted, and only then', () => {
    const aborted = result('k', 'failed', new AbortedError('Refresh of "k" was cancelled.'));
    expect(shownResult(aborted, true).status).toBe('cancelled');
    expect(shownResult(aborted, false).status).toBe('failed');
    const broken = result('k', 'failed', new RefreshFailedError('k', 'boom'));
    expect(shownResult(broken, true).status).toBe('failed');
  });

  it('--json carries interrupted, every outcome, a null error for keys not run, and generation', () => {
    const results: ShownResult[] = interruptedRun.map((entry) => shownResult(entry, true));
    results[0] = {
      ...(results[0] as ShownResult),
      info: {
        key: 'a',
        management: 'versioned',
        version: '20261127T101530123Z-3f9a1c0b7d2e',
        createdAt: '2026-11-27T10:15:30.123Z',
        sha256: 'a'.repeat(64),
        size: 1,
        generation: 42,
      },
    };
    const notRunWithReason = { ...(results[2] as ShownResult), error: new Error('not started') };
    results[2] = notRunWithReason;
    const document = refreshJson(
      {
        ok: false,
        interrupted: true,
        results: [],
        durationMs: 1,
        pointerWrites: 0,
        stateInfoWrites: 0,
      },
      results,
      true,
    );
    expect(document).toMatchObject({ ok: false, interrupted: true });
    expect(document.results[0]).toMatchObject({ status: 'refreshed', generation: 42 });
    expect(document.results[1]).toMatchObject({ status: 'cancelled', generation: null });
    expect(document.results[2]).toMatchObject({ status: 'not-run', error: null });
  });
});
