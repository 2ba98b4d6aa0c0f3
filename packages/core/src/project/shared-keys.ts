import { ConfigError } from '../errors.js';
import type { Component } from './component.js';

/**
 * Several components may declare one key, as they can in Dagster: they then share one state. The
 * key is refreshed once, by the first declaration's `refresh`, and every declaring component
 * loads the same state. They must agree on how that state is managed, since one state cannot
 * live both in the tree and in a store.
 */
export interface SharedKeys {
  /** One component per key, in the order keys are first declared. */
  components: Component[];
  /** The keys declared more than once, with every declaring component, in order. */
  sharedKeys: Map<string, Component[]>;
}

/** Throws a `ConfigError` naming both components when two that share a key disagree. */
export function checkSharedKeys(components: readonly Component[], file: string): void {
  const first = new Map<string, number>();
  components.forEach((component, index) => {
    const earlier = first.get(component.key);
    if (earlier === undefined) {
      first.set(component.key, index);
      return;
    }
    const other = components[earlier] as Component;
    if (other.management === component.management) return;
    throw new ConfigError(
      `components[${earlier}] and components[${index}] both use the key "${component.key}", but one is ${other.management} and the other ${component.management}${describePair(other, component)}.`,
      { file, field: `components.${index}.management` },
      {
        hint: 'Components that share a key share one state, so they must agree on its management type: make both local or both versioned, or give one its own key.',
      },
    );
  });
}

/**
 * One component per key. A shared key's component is its first declaration, except that it opts
 * out of development refreshes when any declaring component does: the opt-out is usually there
 * because the refresh is slow or costly, whichever component said so.
 */
export function mergeSharedKeys(declared: readonly Component[]): SharedKeys {
  const byKey = new Map<string, Component[]>();
  for (const component of declared) {
    const list = byKey.get(component.key);
    if (list) list.push(component);
    else byKey.set(component.key, [component]);
  }
  const components: Component[] = [];
  const sharedKeys = new Map<string, Component[]>();
  for (const [key, list] of byKey) {
    const first = list[0] as Component;
    if (list.length === 1) {
      components.push(first);
      continue;
    }
    sharedKeys.set(key, list);
    const optedOut = list.some((component) => component.refreshIfDev === false);
    components.push(optedOut ? { ...first, refreshIfDev: false } : first);
  }
  return { components, sharedKeys };
}

function describePair(first: Component | undefined, second: Component): string {
  const names = [first?.description, second.description].filter(Boolean);
  return names.length === 2 ? ` (${names[0]}; ${names[1]})` : '';
}
