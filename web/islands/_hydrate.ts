/// <reference lib="dom" />
/**
 * Browser side of the island convention: an island module calls `hydrateIslands("Name", Component)`, which renders
 * the component into every `<div data-island="Name">` on the page with the JSON props the server put in its
 * `data-props` attribute. The server renders the same component first, so the page reads well before (and without)
 * JavaScript.
 *
 * @module
 */

import { type ComponentType, h, hydrate } from "preact";

/** Hydrates every element marked `data-island="<name>"` with `Component`. */
export function hydrateIslands<P>(
  name: string,
  Component: ComponentType<P>,
): void {
  for (
    const element of document.querySelectorAll<HTMLElement>(
      `[data-island="${name}"]`,
    )
  ) {
    const props = JSON.parse(element.dataset.props ?? "{}") as P;
    // deno-lint-ignore no-explicit-any
    hydrate(h(Component as ComponentType<any>, props as any), element);
  }
}
