/**
 * The web front end (`deno task web`): live tanks with range editing, runs, reports, replay and the leaderboard,
 * served by Hono with Preact islands. The CLIs start it through this module.
 *
 * @module
 */

export {
  formatReading,
  type LiveSnapshot,
  type TankView,
} from "./live_view.ts";
export {
  CLASS_PAGES_PREFIX,
  CLASS_ROUTES,
  readOptionFile,
  readSecretFile,
  ROUTES,
  startWeb,
  type WebOptions,
  type WebServer,
} from "./main.ts";
export { type RouteModule, type WebContext } from "./app.ts";
export { editAccess } from "./auth.tsx";
