/**
 * Rendering a whole page (or an error page) for the run routes, inside the shared {@linkcode Layout}.
 *
 * @module
 */

import type { Context } from "hono";
import type { ComponentChildren } from "preact";
import { renderToString } from "preact-render-to-string";
import { Layout, type LayoutProps } from "./layout.tsx";
import { RequestError } from "../run_data.ts";

/** The page as an HTML response. */
export function renderPage(
  c: Context,
  props: Omit<LayoutProps, "children">,
  children: ComponentChildren,
  status: 200 | 400 | 404 = 200,
): Response {
  return c.html(
    "<!doctype html>" + renderToString(<Layout {...props}>{children}</Layout>),
    status,
  );
}

/** Runs `render`; a {@linkcode RequestError} becomes a page saying what was wrong, with its status. */
export async function pageOrError(
  c: Context,
  active: LayoutProps["active"],
  render: (query: URLSearchParams) => Promise<Response>,
): Promise<Response> {
  try {
    return await render(new URL(c.req.url).searchParams);
  } catch (error) {
    if (!(error instanceof RequestError)) throw error;
    return renderPage(
      c,
      { title: error.status === 404 ? "Not found" : "Bad request", active },
      <p class="error" role="alert">
        {error.message}. <a href="/runs">Back to the runs</a>
      </p>,
      error.status,
    );
  }
}
