import assert from "node:assert/strict";
import { withDefaults } from "./options.ts";

Deno.test("withDefaults() keeps a default when the option is given as undefined", () => {
  const defaults = {
    host: "127.0.0.1",
    port: 1883,
    wsPort: 9001 as number | null,
  };
  assert.deepEqual(
    withDefaults(defaults, { host: undefined, port: 0, wsPort: null }),
    {
      host: "127.0.0.1",
      port: 0,
      wsPort: null,
    },
  );
  assert.deepEqual(defaults, { host: "127.0.0.1", port: 1883, wsPort: 9001 });
});
