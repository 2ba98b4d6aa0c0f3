import { PreconditionFailedError, TransientError } from '@defstate/core';
import type { ConformanceKit } from '../kit.js';

/**
 * A racer's write, retried on a transient failure as core would retry it: a busy server may reset
 * a connection now and then, which is not the race this suite is about.
 */
async function write<T>(attempt: () => Promise<T>): Promise<T> {
  for (let tries = 1; ; tries++) {
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof TransientError) || tries >= 3) throw error;
    }
  }
}

/** Conditional writes racing in one process: exactly one winner, every round. */
export function racesSuite(kit: ConformanceKit): void {
  const { test, expect, withStore, text, options } = kit;
  const racers = options.racers ?? 8;

  test(`lets exactly one of ${racers} racing create-only writers win, every round`, () =>
    withStore(async (store) => {
      for (let round = 0; round < 3; round++) {
        const name = `race/create-${round}`;
        const outcomes = await Promise.allSettled(
          Array.from({ length: racers }, (_, writer) =>
            write(() => store.put(name, `writer ${writer}`, { ifNoneMatch: '*' })),
          ),
        );
        const winners = outcomes.flatMap((outcome, writer) =>
          outcome.status === 'fulfilled' ? [writer] : [],
        );
        expect(winners.length, `round ${round} winners`).toBe(1);
        for (const outcome of outcomes) {
          if (outcome.status === 'rejected')
            expect(outcome.reason).toBeInstanceOf(PreconditionFailedError);
        }
        expect(await text(store, name)).toBe(`writer ${winners[0]}`);
      }
    }));

  test(`lets exactly one of ${racers} racing replace-if-match writers win, every round`, () =>
    withStore(async (store) => {
      let { etag } = await store.put('race/cas', 'initial');
      for (let round = 0; round < 3; round++) {
        const outcomes = await Promise.allSettled(
          Array.from({ length: racers }, (_, writer) =>
            write(() =>
              store.put('race/cas', `round ${round} writer ${writer}`, { ifMatch: etag }),
            ),
          ),
        );
        const winners = outcomes.flatMap((outcome, writer) =>
          outcome.status === 'fulfilled' ? [writer] : [],
        );
        expect(winners.length, `round ${round} winners`).toBe(1);
        for (const outcome of outcomes) {
          if (outcome.status === 'rejected')
            expect(outcome.reason).toBeInstanceOf(PreconditionFailedError);
        }
        expect(await text(store, 'race/cas')).toBe(`round ${round} writer ${winners[0]}`);
        etag = (await store.head('race/cas'))?.etag ?? '';
      }
    }));
}
