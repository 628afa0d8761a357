import assert from "node:assert/strict";
import { join } from "node:path";
import { loadScenario } from "./load_scenario.ts";
import { parseScenario } from "./parse_scenario.ts";
import { ScenarioError } from "./scenario_error.ts";
import { SCENARIO_LIMITS } from "./scenario_limits.ts";

const FILE = "limits.yaml";

/** A valid scenario but for what tests append. */
const BASE = `id: limits
version: 1
title: Limits
good_controller: Anything sensible.
seed: 1
start: 2026-01-15T06:00:00
`;

/** The scenario with `duration` and `extra` appended. */
function scenario(extra = "", duration = "24h"): string {
  return `${BASE}duration: ${duration}\n${extra}`;
}

/** Parses `text`, expecting a ScenarioError whose message holds each of `parts`; returns the message. */
function refused(text: string | Uint8Array, ...parts: string[]): string {
  try {
    parseScenario(text, { file: FILE });
  } catch (error) {
    assert.ok(error instanceof ScenarioError, `got ${error}`);
    assert.ok(error.message.startsWith(`Cannot load scenario "${FILE}": `));
    for (const part of parts) {
      assert.ok(error.message.includes(part), error.message);
    }
    return error.message;
  }
  assert.fail("expected a ScenarioError");
}

/** `count` feedings, one a minute. */
function feedings(count: number): string {
  return `events:\n${
    Array.from(
      { length: count },
      (_, i) => `  - { at: ${i + 1}m, type: feeding, grams: 0.1 }\n`,
    ).join("")
  }`;
}

/** A mapping nested `levels` deep under the root (which is level 1): `params: {a: {a: … {a: 1}}}`. */
function nested(levels: number): string {
  return `params: ${"{a: ".repeat(levels - 1)}1${"}".repeat(levels - 1)}\n`;
}

Deno.test("SCENARIO_LIMITS: 256 KiB, 1000 events, 31 days, 16 levels, 100 aliases", () => {
  assert.deepEqual({ ...SCENARIO_LIMITS }, {
    maxFileBytes: 256 * 1024,
    maxEvents: 1000,
    maxDuration: 31 * 86400,
    maxDepth: 16,
    maxAliases: 100,
  });
  assert.ok(Object.isFrozen(SCENARIO_LIMITS));
});

Deno.test("parseScenario() refuses a file over 256 KiB by its size, and takes one just under", () => {
  const { maxFileBytes } = SCENARIO_LIMITS;
  const text = scenario();
  // A comment pads the file to the byte.
  const padded = (size: number) =>
    `${text}#${"x".repeat(size - text.length - 2)}\n`;
  assert.equal(
    new TextEncoder().encode(padded(maxFileBytes)).length,
    maxFileBytes,
  );
  assert.equal(
    parseScenario(padded(maxFileBytes), { file: FILE }).id,
    "limits",
  );
  refused(
    padded(maxFileBytes + 1),
    "the file is 256.0 KiB (262,145 bytes); at most 256 KiB (262,144 bytes) is allowed",
  );
});

Deno.test("parseScenario() refuses more than 1000 events, naming the count and the line, and takes 1000", () => {
  const { maxEvents } = SCENARIO_LIMITS;
  const ok = parseScenario(scenario(feedings(maxEvents), "31d"), {
    file: FILE,
  });
  assert.equal(ok.events.length, maxEvents);
  const message = refused(
    scenario(feedings(maxEvents + 1), "31d"),
    "events: 1001 events; at most 1000 are allowed (line 9)",
  );
  assert.doesNotMatch(message, /problems/, "one issue, not one per event");
});

Deno.test("parseScenario() refuses a run longer than 31 days, and takes 31 days", () => {
  assert.equal(
    parseScenario(scenario("", "31d"), { file: FILE }).duration,
    31 * 86400,
  );
  refused(
    scenario("", "31d1s"),
    'duration: expected at most 31d, got "31d1s" (line 7)',
  );
  refused(scenario("", "44640h1s"), "duration: expected at most 31d");
});

Deno.test("parseScenario() refuses YAML nested deeper than 16 levels before composing it, and passes 16 to the schema", () => {
  // 16 levels is within the limit: the schema then says what is wrong with the keys.
  const within = refused(scenario(nested(16)), "params.a: unknown key");
  assert.doesNotMatch(within, /nested/);
  refused(
    scenario(nested(17)),
    "YAML nested more than 16 levels deep; at most 16 are allowed (a scenario needs 4) (line 8)",
  );
  // Deep enough to overflow a recursive parser's stack: refused the same way.
  const deep = 100_000;
  refused(
    scenario(`ranges: ${"[".repeat(deep)}${"]".repeat(deep)}\n`),
    "YAML nested more than 16 levels deep",
  );
  // Block nesting counts too.
  const block = Array.from(
    { length: 17 },
    (_, i) => `${"  ".repeat(i + 1)}k${i}:`,
  ).join("\n");
  refused(scenario(`params:\n${block} 1\n`), "nested more than 16 levels");
});

Deno.test("parseScenario() refuses more than 100 aliases, and a billion laughs, and takes 100 aliases", () => {
  const { maxAliases } = SCENARIO_LIMITS;
  const withAliases = (count: number) =>
    scenario(
      `ranges:\n  ph: &band { min: 6.5, max: 8 }\ndescription: &d calm\nx:\n${
        Array.from({ length: count }, () => `  - *d\n`).join("")
      }`,
    );
  // 100 aliases pass the limit: the schema then refuses the unknown key x, not the aliases.
  const within = refused(withAliases(maxAliases), 'unknown key "x"');
  assert.doesNotMatch(within, /alias/);
  refused(
    withAliases(maxAliases + 1),
    "more than 100 YAML aliases (*name); at most 100 are allowed",
  );
  // Few aliases, each copying many: refused when expanded.
  const laughs = [
    "a0: &a0 [x, x, x, x, x, x, x, x, x, x]",
    ...Array.from(
      { length: 8 },
      (_, i) =>
        `a${i + 1}: &a${i + 1} [${
          Array.from({ length: 10 }, () => `*a${i}`).join(", ")
        }]`,
    ),
  ].join("\n");
  refused(
    scenario(`${laughs}\n`),
    "YAML aliases (*name) expand to too many copies of their anchors; at most 100 are allowed",
  );
  // A few anchors a teacher reuses are fine.
  const reused = parseScenario(
    scenario(
      "ranges:\n  temperature: &band { min: 24, max: 26 }\n  room_temperature: *band\n",
    ),
    { file: FILE },
  );
  assert.deepEqual(reused.ranges.room_temperature, reused.ranges.temperature);
});

Deno.test("loadScenario() refuses a 44 MB file by its size without reading it, and reads one just under the limit", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fishtank-limits-" });
  try {
    const big = join(dir, "big.yaml");
    // A million events, as the file that took 3.3 GB did.
    const event = "  - { at: 1s, type: feeding, grams: 0.125 }\n".repeat(1000);
    const file = await Deno.open(big, { write: true, create: true });
    try {
      await file.write(new TextEncoder().encode(scenario("events:\n", "31d")));
      const block = new TextEncoder().encode(event);
      for (let i = 0; i < 1000; i++) await file.write(block);
    } finally {
      file.close();
    }
    const size = (await Deno.stat(big)).size;
    assert.ok(size > 44_000_000, `${size} bytes`);
    // The message is the one of the size check made before reading (a read stops at the limit and says "over").
    await assert.rejects(
      loadScenario(big),
      (error: unknown) => {
        assert.ok(error instanceof ScenarioError);
        assert.equal(
          error.message,
          `Cannot load scenario "${big}": the file is ${
            (size / 1048576).toFixed(1)
          } MiB (${
            size.toLocaleString("en-US")
          } bytes); at most 256 KiB (262,144 bytes) is allowed`,
        );
        return true;
      },
    );

    const small = join(dir, "small.yaml");
    const text = scenario();
    await Deno.writeTextFile(
      small,
      `${text}#${"x".repeat(SCENARIO_LIMITS.maxFileBytes - text.length - 2)}\n`,
    );
    assert.equal((await Deno.stat(small)).size, SCENARIO_LIMITS.maxFileBytes);
    assert.equal((await loadScenario(small)).id, "limits");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadScenario() refuses a 4 GiB file by its size: it never reads it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fishtank-limits-" });
  try {
    // Sparse: no disk used. Read whole it would fail (Node reads at most 2 GiB at once) or take gigabytes.
    const huge = join(dir, "huge.yaml");
    await Deno.writeTextFile(huge, scenario());
    await Deno.truncate(huge, 4 * 1024 ** 3);
    await assert.rejects(
      loadScenario(huge),
      (error: unknown) => {
        assert.ok(error instanceof ScenarioError);
        assert.match(
          error.message,
          /: the file is 4096 MiB \(4,294,967,296 bytes\); at most 256 KiB \(262,144 bytes\) is allowed$/,
        );
        return true;
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "loadScenario() stops reading a pipe one byte past the limit, where stat cannot tell the size",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "fishtank-limits-" });
    const fifo = join(dir, "endless.yaml");
    try {
      await new Deno.Command("mkfifo", { args: [fifo] }).output();
      // An endless writer: without the bounded read, loading would never end.
      const writer = new Deno.Command("sh", {
        args: [
          "-c",
          `yes '  - { at: 1s, type: feeding, grams: 0.1 }' > "$1"`,
          "sh",
          fifo,
        ],
        stderr: "null",
      }).spawn();
      try {
        await assert.rejects(
          loadScenario(fifo),
          /: the file is over 256 KiB \(262,144 bytes\), the most allowed$/,
        );
      } finally {
        try {
          writer.kill("SIGKILL");
        } catch {
          // Ended on its broken pipe already.
        }
        await writer.status;
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
