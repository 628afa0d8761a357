/**
 * Spelling suggestions for error messages ("did you mean …?"), so that a teacher who types `duraton` or
 * `heaterPower` is pointed at the key the loader expects.
 *
 * @module
 */

/** Lower case without `_`, `-` or spaces: `heaterPower`, `heater_power` and `Heater-Power` all compare equal. */
function _fold(text: string): string {
  return text.toLowerCase().replace(/[_\-\s]/g, "");
}

/** Edit distance counting insertions, deletions, substitutions and swaps of neighbours (`stpe` → `step`) as 1. */
export function editDistance(a: string, b: string): number {
  // Optimal string alignment: Levenshtein plus adjacent transpositions, the commonest typo.
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row: number[] = [i];
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        row.push(j);
        continue;
      }
      const above = rows[i - 1]!;
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(above[j]! + 1, row[j - 1]! + 1, above[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, rows[i - 2]![j - 2]! + 1);
      }
      row.push(best);
    }
    rows.push(row);
  }
  return rows[a.length]![b.length]!;
}

/**
 * The candidate closest to `word`, or undefined when none is close enough to be a plausible typo. Case, `_` and `-`
 * are ignored; otherwise up to one edit per three letters (at least one) is allowed.
 */
export function didYouMean(
  word: string,
  candidates: Iterable<string>,
): string | undefined {
  const folded = _fold(word);
  const limit = Math.max(1, Math.floor(folded.length / 3));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(folded, _fold(candidate));
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= limit ? best : undefined;
}

/** `; did you mean "x"?` to append to a message, or an empty string when nothing is close. */
export function didYouMeanHint(
  word: string,
  candidates: Iterable<string>,
): string {
  const suggestion = didYouMean(word, candidates);
  return suggestion === undefined ? "" : `; did you mean "${suggestion}"?`;
}
