import { distance } from 'fastest-levenshtein';

/**
 * The closest candidate to a misspelt name, for "did you mean" hints; undefined when nothing is close.
 * Close means at most max(2, a third of the name's length) edits, compared case-insensitively.
 */
export function suggest(name: string, candidates: readonly string[]): string | undefined {
  const wanted = name.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = distance(wanted, candidate.toLowerCase());
    if (d < bestDistance || (d === bestDistance && best !== undefined && candidate < best)) {
      best = candidate;
      bestDistance = d;
    }
  }
  const limit = Math.max(2, Math.floor(name.length / 3));
  return bestDistance > 0 && bestDistance <= limit ? best : undefined;
}

/** "; did you mean `x`?" or an empty string. */
export function didYouMean(name: string, candidates: readonly string[]): string {
  const s = suggest(name, candidates);
  return s === undefined ? '' : `did you mean \`${s}\`?`;
}
