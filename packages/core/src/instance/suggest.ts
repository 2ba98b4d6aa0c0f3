/**
 * "Did you mean …?" for names a user typed: an option, a key, a command. The nearest candidate by
 * edit distance (case ignored), if it is near enough to be a typo rather than another word.
 */
export function suggestClosest(word: string, candidates: Iterable<string>): string | undefined {
  if (word === '') return undefined;
  const typed = word.toLowerCase();
  // A third of the word, at least 1 and at most 3 edits: `pth` → `path`, not `zzz` → `path`.
  const allowed = Math.min(3, Math.max(1, Math.floor(typed.length / 3)));
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(typed, candidate.toLowerCase());
    if (distance <= allowed && (best === undefined || distance < best.distance)) {
      best = { candidate, distance };
    }
  }
  return best?.candidate;
}

/** Levenshtein distance, with a transposition counted as one edit (`bucekt` → `bucket`). */
function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const columns = b.length + 1;
  const cost: number[][] = Array.from({ length: rows }, (_, i) =>
    Array.from({ length: columns }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < columns; j++) {
      const substitution = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(
        (cost[i - 1]?.[j] ?? 0) + 1,
        (cost[i]?.[j - 1] ?? 0) + 1,
        (cost[i - 1]?.[j - 1] ?? 0) + substitution,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, (cost[i - 2]?.[j - 2] ?? 0) + 1);
      }
      (cost[i] as number[])[j] = best;
    }
  }
  return cost[a.length]?.[b.length] ?? Math.max(a.length, b.length);
}
