/**
 * Server side of the island convention: renders an island's component for the first paint, wrapped in a marker that
 * the browser bundle (`/islands/<name>.js`) hydrates with the same props.
 *
 * @module
 */

import type { ComponentChildren, ComponentType } from "preact";

/** Props of {@linkcode Island}. */
export interface IslandProps<P> {
  /** The island's file name in `web/islands/` without `.tsx`, e.g. `LiveTank`. */
  name: string;
  component: ComponentType<P>;
  props: P;
}

/** An island: server-rendered now, interactive once `/islands/<name>.js` has loaded. */
export function Island<P>(
  { name, component: Component, props }: IslandProps<P>,
): ComponentChildren {
  // deno-lint-ignore no-explicit-any
  const all = props as any;
  return (
    <>
      <div data-island={name} data-props={JSON.stringify(props)}>
        <Component {...all} />
      </div>
      <script type="module" src={`/islands/${name}.js`} />
    </>
  );
}
