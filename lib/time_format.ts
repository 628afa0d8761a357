/**
 * Times for people, shared by the terminal display and the web pages (so it has no dependencies: the browser bundles
 * it too).
 *
 * @module
 */

/** A duration for people: `0.8 s`, `42 s`, `3 min 05 s`, `2 h 04 min`, `3 d 02 h`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, seconds);
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 60) return `${Math.floor(s)} s`;
  const pad = (n: number) => String(n).padStart(2, "0");
  if (s < 3600) return `${Math.floor(s / 60)} min ${pad(Math.floor(s % 60))} s`;
  if (s < 86_400) {
    return `${Math.floor(s / 3600)} h ${pad(Math.floor((s % 3600) / 60))} min`;
  }
  return `${Math.floor(s / 86_400)} d ${
    pad(Math.floor((s % 86_400) / 3600))
  } h`;
}

/** Seconds since the start as `h:mm:ss` (`0:05:00`, `26:00:00`). */
export function formatClock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${Math.floor(s / 3600)}:${pad(Math.floor((s % 3600) / 60))}:${
    pad(s % 60)
  }`;
}

/** A simulated ISO date-time as published (`2026-01-15 06:00:10`), without converting to the local zone. */
export function formatSimTime(iso: string): string {
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})/.exec(iso);
  return match ? `${match[1]} ${match[2]}` : iso;
}
