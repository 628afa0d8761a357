/**
 * The truth samples of a run, each with the span of simulated time it stands for.
 *
 * @module
 */

import type { TruthSample } from "../store/mod.ts";

/** A truth sample and the seconds it stands for: up to the next sample (the publish period that follows it). */
export interface SpannedSample {
  readonly sample: TruthSample;
  /** Seconds from this sample to the next one (for the last: to the end of the run, at most one spacing). */
  readonly dt: number;
}

const decoder = new TextDecoder();

/** The `TruthSample` in a truth record's payload, or undefined when the payload is not one. */
export function decodeTruth(payload: Uint8Array): TruthSample | undefined {
  try {
    const sample = JSON.parse(decoder.decode(payload)) as TruthSample;
    if (
      typeof sample !== "object" || sample === null ||
      typeof sample.t !== "number" || typeof sample.values !== "object" ||
      sample.values === null
    ) return undefined;
    return sample;
  } catch {
    return undefined;
  }
}

/**
 * Gives each sample its span: the time to the next sample, measured rather than assumed, so a run with another
 * publish period (or a gap) is weighed right. The last sample stands for the time to `end` (the simulated seconds the
 * run covered), but never more than the spacing before it (or `fallback` when there is only one sample).
 */
export function spanSamples(
  samples: readonly TruthSample[],
  options: { end: number; fallback: number },
): SpannedSample[] {
  const sorted = [...samples].sort((a, b) => a.t - b.t);
  return sorted.map((sample, index) => {
    const next = sorted[index + 1];
    if (next !== undefined) return { sample, dt: next.t - sample.t };
    const previous = sorted[index - 1];
    const spacing = previous === undefined
      ? options.fallback
      : sample.t - previous.t;
    const dt = Math.min(Math.max(0, options.end - sample.t), spacing);
    return { sample, dt };
  });
}
