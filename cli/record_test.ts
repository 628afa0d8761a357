import assert from "node:assert/strict";
import { parseRecordArgs } from "./record.ts";

Deno.test("parseRecordArgs() fills in the defaults: tank1 under fishtank, ./data/fishtank.kv, until stopped", () => {
  assert.deepEqual(parseRecordArgs(["--broker", "127.0.0.1:1883"]), {
    broker: "mqtt://127.0.0.1:1883",
    root: "fishtank",
    tank: "tank1",
    db: "./data/fishtank.kv",
  });
});

Deno.test("parseRecordArgs() reads --all, --topic-root, --db, --name and --duration", () => {
  assert.deepEqual(
    parseRecordArgs([
      "--broker=mqtt://10.0.0.2:1884",
      "--topic-root=OLP/device/tank",
      "--all",
      "--db=/tmp/x.kv",
      "--name=Ada",
      "--duration=1h30m",
    ]),
    {
      broker: "mqtt://10.0.0.2:1884",
      root: "OLP/device/tank",
      tank: null,
      db: "/tmp/x.kv",
      name: "Ada",
      duration: 5400,
    },
  );
  assert.equal(parseRecordArgs(["--help"]), "help");
});

Deno.test("parseRecordArgs() names the bad option", () => {
  assert.throws(() => parseRecordArgs([]), /--broker: which broker/);
  assert.throws(
    () => parseRecordArgs(["--broker", "x", "--tank", "a", "--all"]),
    /--tank and --all exclude each other/,
  );
  assert.throws(
    () => parseRecordArgs(["--broker", "x", "--duration", "soon"]),
    /--duration: expected a duration/,
  );
  assert.throws(
    () => parseRecordArgs(["--broker", "x", "--duration", "0s"]),
    /--duration: must be longer than zero/,
  );
  assert.throws(
    () => parseRecordArgs(["--broker", "x", "--tank", "a/b"]),
    /--tank: "a\/b" must be a single topic level/,
  );
  assert.throws(
    () => parseRecordArgs(["--broker", "http://x"]),
    /--broker: expected a URL/,
  );
});

Deno.test("parseRecordArgs() reads --rig, repeatable: rigs whose own t is not the simulation's", () => {
  assert.deepEqual(
    parseRecordArgs(["--broker=x:1", "--all", "--rig=rig1", "--rig", "rig2"]),
    {
      broker: "mqtt://x:1",
      root: "fishtank",
      tank: null,
      db: "./data/fishtank.kv",
      rigs: ["rig1", "rig2"],
    },
  );
  assert.throws(
    () => parseRecordArgs(["--broker", "x", "--rig", "a/b"]),
    /"a\/b" must be a single topic level/,
  );
});
