/**
 * The page frame: title, navigation and the stylesheet. Pages render inside it on the server.
 *
 * @module
 */

import type { ComponentChildren } from "preact";

/** Props of {@linkcode Layout}. */
export interface LayoutProps {
  title: string;
  /** Which navigation entry is the current page. */
  active?: "live" | "runs" | "leaderboard";
  children: ComponentChildren;
}

const NAV = [
  { href: "/", label: "Live", key: "live" },
  { href: "/runs", label: "Runs", key: "runs" },
  { href: "/leaderboard", label: "Leaderboard", key: "leaderboard" },
] as const;

/** The whole HTML document around a page. */
export function Layout({ title, active, children }: LayoutProps) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${title} · Fish tank`}</title>
        <link rel="stylesheet" href="/static/style.css" />
      </head>
      <body>
        <header>
          <a class="brand" href="/">Fish tank</a>
          <nav aria-label="Main">
            {NAV.map((item) => (
              <a
                href={item.href}
                aria-current={item.key === active ? "page" : undefined}
              >
                {item.label}
              </a>
            ))}
          </nav>
        </header>
        <main>
          <h1>{title}</h1>
          {children}
        </main>
      </body>
    </html>
  );
}
