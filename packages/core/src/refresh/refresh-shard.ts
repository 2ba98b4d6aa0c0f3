import { writePartialPins } from '../deploy/partial-pins.js';
import { planShard, type ShardPlan } from '../deploy/shard-plan.js';
import { AbortedError, ConfigError, UsageError } from '../errors.js';
import type { StateInfo } from '../model/state-info.js';
import type { Component } from '../project/component.js';
import type { Project } from '../project/load-project.js';
import { selectComponents } from '../project/select-components.js';
import type { ShardSpec } from '../project/shard.js';
import type { BlobStore } from '../store/blob-store.js';
import { recordRefreshTimings } from '../versioned/refresh-timings.js';
import { asError } from './fetch-state.js';
import { type RefreshStateOptions, refreshState } from './refresh-state.js';
import type { RefreshEvent, RefreshReport } from './report.js';

export interface RefreshShardOptions extends RefreshStateOptions {
  /** Refresh only this shard's part of the selected keys; every selected key when absent. */
  shard?: ShardSpec;
  /** The CI run's id, so every shard of the run shares one plan (`shardRunId()`). */
  runId?: string;
  /** Told the shard's plan once it is made, before any key refreshes. */
  onPlan?: (plan: ShardPlan) => void;
}

export interface ShardedRefreshReport extends RefreshReport {
  /** With `shard`: which keys this shard took, and how the partition was made. */
  shard?: ShardPlan;
}

/**
 * A refresh as the CLI and the Action run it: `refreshState` over the selected keys, or over one
 * shard's part of them, and afterwards the duration of each key that ran recorded in the store
 * (`refresh-timings.json`) so that the next sharded run can balance by it. With `pin` and a
 * shard, only this shard's keys are pinned, in a partial pin file (`defstate pin --merge`
 * combines them); without a shard, `pin` pins every declared key as `refreshState` does.
 */
export async function refreshShard(options: RefreshShardOptions): Promise<ShardedRefreshReport> {
  const { project, shard, signal } = options;
  let opened: Promise<BlobStore> | undefined;
  const openStore =
    options.openStore && (() => (opened ??= options.openStore?.() as Promise<BlobStore>));
  let plan: ShardPlan | undefined;
  let keys = options.keys;
  if (shard) {
    const selected = selectComponents(project, options.keys, options.management);
    // The shards share a plan through the store when the keys live there anyway.
    const store =
      openStore && selected.some(({ management }) => management === 'versioned')
        ? await openStore()
        : undefined;
    plan = await planShard(
      selected.map(({ key }) => key),
      shard,
      { store, runId: options.runId, signal },
    );
    keys = plan.keys;
    options.onPlan?.(plan);
  }
  const durations = new KeyDurations();
  const onEvent: RefreshStateOptions['onEvent'] = (event) => {
    durations.onEvent(event);
    options.onEvent?.(event);
  };
  const report: ShardedRefreshReport =
    plan && plan.keys.length === 0
      ? {
          ok: true,
          interrupted: false,
          results: [],
          durationMs: 0,
          pointerWrites: 0,
          stateInfoWrites: 0,
        }
      : await refreshState({
          ...options,
          project: durations.timing(project),
          keys,
          openStore,
          onEvent,
          pin: options.pin === true && !plan,
        });
  if (opened && !signal?.aborted) {
    const store = await opened.catch(() => undefined);
    if (store) await recordRefreshTimings(store, durations.measured(), { signal });
  }
  if (plan) {
    report.shard = plan;
    if (options.pin) await pinShard(project.root, report, plan, options.now?.() ?? new Date());
  }
  return report;
}

/** Writes the shard's partial pin file, if every one of its keys succeeded. */
async function pinShard(
  projectRoot: string,
  report: ShardedRefreshReport,
  plan: ShardPlan,
  now: Date,
): Promise<void> {
  try {
    if (report.interrupted) {
      throw new AbortedError('Not pinned: the run was interrupted.', {
        hint: 'The partial pin file was not written; run the shard again.',
      });
    }
    if (!report.ok) {
      const failed = report.results.filter((result) => result.status === 'failed').length;
      throw new UsageError(
        `Not pinned: ${failed} key${failed === 1 ? '' : 's'} failed to refresh.`,
        {
          hint: 'The partial pin file was not written; fix the failures and run the shard again.',
        },
      );
    }
    const infos = report.results.map((result) => result.info as StateInfo);
    const { file, pins } = await writePartialPins(projectRoot, infos, {
      store: report.storeLocation,
      now,
      shard: {
        index: plan.index,
        total: plan.total,
        selected: plan.selected,
        plan: plan.planId ?? null,
        balancedBy: plan.balancedBy,
      },
    });
    report.pinFile = file;
    report.pins = pins;
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    report.pinError = asError(error);
    report.ok = false;
    report.pinFile = undefined;
  }
}

/**
 * How long each key's refresh took: the time its component's `refresh` ran, every attempt
 * summed, which is what the key costs a runner however long its commit waited for a batch. A key
 * whose component was not seen running here (it ran elsewhere) is timed from its start to its
 * result instead.
 */
class KeyDurations {
  readonly #component = new Map<string, number>();
  readonly #started = new Map<string, number>();
  readonly #whole = new Map<string, number>();

  timing(project: Project): Project {
    const components = project.components.map(
      (component): Component => ({
        ...component,
        refresh: async (context) => {
          const started = performance.now();
          try {
            return await component.refresh(context);
          } finally {
            const spent = performance.now() - started;
            this.#component.set(component.key, (this.#component.get(component.key) ?? 0) + spent);
          }
        },
      }),
    );
    return { ...project, components };
  }

  onEvent(event: RefreshEvent): void {
    if (event.type === 'start') this.#started.set(event.key, performance.now());
    if (event.type === 'end' && TIMED.has(event.result.status)) {
      const at = this.#started.get(event.result.key);
      if (at !== undefined) this.#whole.set(event.result.key, performance.now() - at);
    }
  }

  /** The keys that succeeded (refreshed or unchanged), with their durations. */
  measured(): Map<string, number> {
    return new Map(
      [...this.#whole].map(([key, whole]) => [key, this.#component.get(key) ?? whole] as const),
    );
  }
}

// A failure's duration says how it failed (a timeout, a store that was down), not what the key
// costs when it works.
const TIMED = new Set(['refreshed', 'unchanged']);
