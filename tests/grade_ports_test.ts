/**
 * `deno task grade --external` on a port of its own: it waits where it says, and every command it suggests names that
 * port; `--port` without `--external` is refused with a reason.
 */

import assert from "node:assert/strict";

async function grade(args: string[]): Promise<{ code: number; out: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "cli/grade.ts", "grade", ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const text = new TextDecoder();
  return { code, out: text.decode(stdout) + text.decode(stderr) };
}

Deno.test("grade --external --port 0 waits on a free port and names it in the command it suggests", async () => {
  const { out } = await grade([
    "--external",
    "--port=0",
    "--connect-timeout=0.5",
    "--scenario=tests/fixtures/scenarios/short-day.yaml",
    "--db=:memory:",
    "--quiet",
  ]);
  const url = /connect to (mqtt:\/\/127\.0\.0\.1:(\d+))/.exec(out);
  assert.ok(url, out);
  assert.notEqual(url[2], "1883");
  assert.ok(out.includes(`MQTT_URL=${url[1]} python3 my_controller.py`), out);
});

Deno.test("grade --port without --external is refused, naming the flag", async () => {
  const { code, out } = await grade([
    "--controller=examples/thermostat.ts",
    "--port=2000",
  ]);
  assert.equal(code, 2);
  assert.match(out, /--port: only with --external/);
});
