/**
 * The limits on scenario input, defined once: a scenario file is a teacher's text, but it may come from anywhere,
 * and a 44 MB file with a million events once took 3.3 GB before its run had started. Each limit is far above what a
 * real scenario needs and is checked before the work it bounds.
 *
 * @module
 */

/** The limits on a scenario file. */
export interface ScenarioLimits {
  /**
   * Bytes of the file, checked before it is read whole. The built-in scenarios are under 3 KB and 1,000 events take
   * about 45 KB; yaml parses about 100 KB a second of the worst text, so this bounds a refusal to a few seconds.
   */
  readonly maxFileBytes: number;
  /** Entries under `events:`. The built-in scenarios have at most a handful. */
  readonly maxEvents: number;
  /** The run's `duration`, in simulated seconds. The longest built-in scenario (`long-weekend`) is 3 days. */
  readonly maxDuration: number;
  /** Levels of nested YAML mappings and lists; a scenario needs 4 (`params: sensors: temperature: noise`). */
  readonly maxDepth: number;
  /** YAML aliases (`*name`) in the file, and copies an alias may make of its anchor's content when expanded. */
  readonly maxAliases: number;
}

/** The limits every scenario file is held to: 256 KiB, 1,000 events, 31 days, 16 levels, 100 aliases. */
export const SCENARIO_LIMITS: ScenarioLimits = Object.freeze({
  maxFileBytes: 256 * 1024,
  maxEvents: 1000,
  maxDuration: 31 * 24 * 3600,
  maxDepth: 16,
  maxAliases: 100,
});

/** `1 MiB (1,048,576 bytes)`, `44.0 MiB (46,137,344 bytes)`: a size as people read it, with the exact figure. */
export function formatBytes(bytes: number): string {
  const exact = `${bytes.toLocaleString("en-US")} bytes`;
  if (bytes < 1024) return exact;
  const [value, unit] = bytes < 1024 * 1024
    ? [bytes / 1024, "KiB"]
    : [bytes / (1024 * 1024), "MiB"];
  const text = Number.isInteger(value) ? String(value) : value.toFixed(1);
  return `${text} ${unit} (${exact})`;
}

/** The issue message of a file over {@linkcode ScenarioLimits.maxFileBytes}. */
export function fileSizeMessage(bytes: number): string {
  return `the file is ${formatBytes(bytes)}; at most ${
    formatBytes(SCENARIO_LIMITS.maxFileBytes)
  } is allowed`;
}
