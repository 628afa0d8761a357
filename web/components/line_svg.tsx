/**
 * A chart without JavaScript: one measurement as an inline SVG line over its range band, the first paint of the run
 * report (and what stays when scripts are off).
 *
 * @module
 */

/** Props of {@linkcode LineSvg}. */
export interface LineSvgProps {
  /** Accessible name, e.g. `temperature, °C`. */
  label: string;
  t: readonly number[];
  value: readonly number[];
  min: readonly (number | null)[];
  max: readonly (number | null)[];
  /** The time axis, simulated seconds. */
  from: number;
  to: number;
}

const W = 1000;
const H = 200;

/** The line, the band between the range bounds, and the value axis's extremes in words. */
export function LineSvg(props: LineSvgProps) {
  const { t, value, min, max, from, to } = props;
  const numbers = [
    ...value,
    ...min.filter((v): v is number => v !== null),
    ...max.filter((v): v is number => v !== null),
  ].filter(Number.isFinite);
  if (t.length === 0 || numbers.length === 0) {
    return <p class="muted">No samples to draw.</p>;
  }
  let low = Math.min(...numbers);
  let high = Math.max(...numbers);
  if (high - low < 1e-9) {
    low -= 1;
    high += 1;
  }
  const pad = (high - low) * 0.08;
  low -= pad;
  high += pad;
  const span = Math.max(1e-9, to - from);
  const x = (s: number) => (((s - from) / span) * W).toFixed(1);
  const y = (v: number) => (H - ((v - low) / (high - low)) * H).toFixed(1);
  const line = t.map((s, i) => `${x(s)},${y(value[i]!)}`).join(" ");
  const band: string[] = [];
  for (let i = 0; i < t.length; i++) {
    if (max[i] !== null && max[i] !== undefined) {
      band.push(`${x(t[i]!)},${y(max[i]!)}`);
    }
  }
  for (let i = t.length - 1; i >= 0; i--) {
    if (min[i] !== null && min[i] !== undefined) {
      band.push(`${x(t[i]!)},${y(min[i]!)}`);
    }
  }
  return (
    <svg
      class="line-svg"
      viewBox={`0 0 ${W} ${H}`}
      preserveAspectRatio="none"
      role="img"
      aria-label={`${props.label}: from ${low.toFixed(1)} to ${
        high.toFixed(1)
      }`}
    >
      {band.length > 2 && <polygon class="band" points={band.join(" ")} />}
      <polyline class="line" points={line} vector-effect="non-scaling-stroke" />
    </svg>
  );
}
