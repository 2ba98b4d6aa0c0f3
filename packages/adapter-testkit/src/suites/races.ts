import { PreconditionFailedError } from '@defstate/core';
import type { ConformanceKit } from '../kit.js';

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
            store.put(name, `writer ${writer}`, { ifNoneMatch: '*' }),
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
            store.put('race/cas', `round ${round} writer ${writer}`, { ifMatch: etag }),
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
