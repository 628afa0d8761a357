import assert from "node:assert/strict";
import { LAYOUTS, TankTopics, validateTopicPart } from "./topics.ts";

Deno.test("TankTopics builds the default layout fishtank/{tank}/…", () => {
  const topics = new TankTopics("fishtank", "tank1");
  assert.equal(
    topics.sensor("temperature"),
    "fishtank/tank1/sensors/temperature",
  );
  assert.equal(topics.sensorsAll, "fishtank/tank1/sensors/all");
  assert.equal(topics.control("heater"), "fishtank/tank1/control/heater");
  assert.equal(topics.range("ph"), "fishtank/tank1/ranges/ph");
  assert.equal(topics.status, "fishtank/tank1/status");
  assert.equal(topics.errors, "fishtank/tank1/errors");
});

Deno.test("TankTopics reproduces the original kit's layout OLP/device/tank/id/…", () => {
  const topics = new TankTopics(LAYOUTS.olp.root, LAYOUTS.olp.tank);
  assert.equal(
    topics.sensor("temperature"),
    "OLP/device/tank/id/sensors/temperature",
  );
  assert.equal(topics.controlAll, "OLP/device/tank/id/control/all");
  // The kit's programs split the topic and read levels 4 and 5.
  assert.deepEqual(topics.control("heater").split("/").slice(4), [
    "control",
    "heater",
  ]);
});

Deno.test("TankTopics.parse() classifies every topic of a tank and ignores other tanks", () => {
  const topics = new TankTopics("fishtank", "tank1");
  assert.deepEqual(topics.parse("fishtank/tank1/sensors/ph"), {
    kind: "sensor",
    name: "ph",
  });
  assert.deepEqual(topics.parse("fishtank/tank1/sensors/all"), {
    kind: "sensors_all",
  });
  assert.deepEqual(topics.parse("fishtank/tank1/control/fan"), {
    kind: "control",
    name: "fan",
  });
  assert.deepEqual(topics.parse("fishtank/tank1/control/all"), {
    kind: "control_all",
  });
  assert.deepEqual(topics.parse("fishtank/tank1/ranges/temperature"), {
    kind: "range",
    name: "temperature",
  });
  assert.deepEqual(topics.parse("fishtank/tank1/alarm"), { kind: "alarm" });
  assert.deepEqual(topics.parse("fishtank/tank1/ack"), { kind: "ack" });
  assert.deepEqual(topics.parse("fishtank/tank1/control/heater/x"), {
    kind: "unknown",
    rest: "control/heater/x",
  });
  assert.equal(topics.parse("fishtank/tank10/alarm"), undefined);
  assert.equal(topics.parse("fishtank/tank1"), undefined);
});

Deno.test("validateTopicPart() refuses wildcards, empty levels and a multi-level tank id", () => {
  assert.equal(validateTopicPart("OLP/device/tank", "root"), "OLP/device/tank");
  assert.throws(
    () => validateTopicPart("fish/#", "root"),
    /--topic-root: "fish\/#" must not contain \+, #/,
  );
  assert.throws(() => validateTopicPart("fish//tank", "root"), /empty level/);
  assert.throws(
    () => validateTopicPart("a/b", "tank"),
    /--tank: "a\/b" must be a single topic level/,
  );
  assert.throws(() => validateTopicPart("", "tank"), /must not be empty/);
});
