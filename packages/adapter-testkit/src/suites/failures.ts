import { AccessDeniedError, StoreNotFoundError } from '@defstate/core';
import type { ConformanceKit } from '../kit.js';

/** Refused credentials and a missing bucket, each as its typed error. */
export function failuresSuite(kit: ConformanceKit): void {
  const { test, expect, rejection, namespace, options } = kit;
  const { denied, missing } = options.failures ?? {};
  if (denied) {
    test('turns refused credentials into AccessDeniedError', async () => {
      const store = await denied(namespace());
      try {
        expect(await rejection(store.put('denied', 'x'))).toBeInstanceOf(AccessDeniedError);
        expect(await rejection(store.get('denied'))).toBeInstanceOf(AccessDeniedError);
      } finally {
        await store.close?.();
      }
    });
  }
  if (missing) {
    test('turns a missing bucket or container into StoreNotFoundError naming it', async () => {
      const store = await missing(namespace());
      try {
        const error = await rejection(store.put('missing', 'x'));
        expect(error).toBeInstanceOf(StoreNotFoundError);
        expect(await rejection(store.get('missing'))).toBeInstanceOf(StoreNotFoundError);
        expect(await rejection(store.head('missing'))).toBeInstanceOf(StoreNotFoundError);
      } finally {
        await store.close?.();
      }
    });
  }
}
