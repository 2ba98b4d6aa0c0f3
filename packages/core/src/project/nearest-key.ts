/**
 * The declared key a mistyped one most likely meant, for "Did you mean …?" hints. Distance is
 * optimal string alignment (Damerau–Levenshtein without repeated edits of one substring): a
 * swapped pair of letters, the commonest typo, costs one edit rather than two.
 */
export function nearestKey(key: string, known: Iterable<string>): string | undefined {
  const wanted = key.toLowerCase();
  // Further than a third of the key's length apart, a suggestion is more confusing than none.
  const limit = Math.max(1, Math.floor(Math.max(wanted.length, 3) / 3));
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const distance = editDistance(wanted, candidate.toLowerCase());
    if (distance <= limit && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** `Did you mean "…"?`, or '' when no declared key is near enough. */
export function didYouMean(key: string, known: Iterable<string>): string {
  const nearest = nearestKey(key, known);
  return nearest === undefined ? '' : `Did you mean "${nearest}"?`;
}

function editDistance(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  // Three rows are enough: the current one, the one above, and the one above that (for swaps).
  let before = new Array<number>(y.length + 1).fill(0);
  let previous = Array.from({ length: y.length + 1 }, (_, index) => index);
  for (let i = 1; i <= x.length; i++) {
    const current = [i];
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      let value = Math.min(
        (previous[j] as number) + 1,
        (current[j - 1] as number) + 1,
        (previous[j - 1] as number) + cost,
      );
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) {
        value = Math.min(value, (before[j - 2] as number) + 1);
      }
      current[j] = value;
    }
    before = previous;
    previous = current;
  }
  return previous[y.length] as number;
}
