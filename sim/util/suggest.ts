import { distance } from 'fastest-levenshtein';

/**
 * The closest candidate to a misspelt name, for "did you mean" hints; undefined when nothing is close.
 * Close means at most max(2, a third of the name's length) edits, compared case-insensitively (so a name in
 * the wrong case suggests its proper spelling); ties go to the earlier candidate, keeping hints deterministic.
 */
export function suggest(name: string, candidates: readonly string[]): string | undefined {
  const wanted = name.trim().toLowerCase();
  if (wanted === '') return undefined;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    if (candidate === name) continue;
    const d = distance(wanted, candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  const limit = Math.max(2, Math.floor(wanted.length / 3));
  return bestDistance <= limit ? best : undefined;
}

/** "did you mean `x`?" or an empty string. */
export function didYouMean(name: string, candidates: readonly string[]): string {
  const s = suggest(name, candidates);
  return s === undefined ? '' : `did you mean \`${s}\`?`;
}
