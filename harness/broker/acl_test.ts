import assert from "node:assert/strict";
import {
  controllerPublish,
  controllerSubscribe,
  livePublish,
  LiveRoles,
  mosquittoAcl,
  reaches,
} from "./acl.ts";
import { TankTopics } from "../../protocol/mod.ts";

const topics = new TankTopics("fishtank", "tank1");

Deno.test("controllerPublish() allows commands, the alarm and acks of its own tank only", () => {
  for (
    const topic of [
      "fishtank/tank1/control/heater",
      "fishtank/tank1/control/all",
      "fishtank/tank1/alarm",
      "fishtank/tank1/ack",
    ]
  ) assert.deepEqual(controllerPublish(topics, topic), { ok: true }, topic);
  const refused = {
    "fishtank/tank1/sensors/all":
      /only the simulator publishes the tank's readings/,
    "fishtank/tank1/sensors/temperature": /readings/,
    "fishtank/tank1/status": /status/,
    "fishtank/tank1/clock": /clock/,
    "fishtank/tank1/actuators": /actuator state/,
    "fishtank/tank1/errors": /error reports/,
    "fishtank/tank1/ranges/ph": /set by the scenario or the teacher/,
    "fishtank/tank1/control_source": /control source/,
    "fishtank/tank2/control/heater": /outside this tank's topics/,
    "fishtank/tank1": /outside/,
    "fishtank/tank10/control/heater": /outside/,
    "other/thing": /outside/,
    "fishtank/tank1/notes/mine": /not a controller topic/,
  };
  for (const [topic, reason] of Object.entries(refused)) {
    const access = controllerPublish(topics, topic);
    assert.equal(access.ok, false, topic);
    assert.match(!access.ok ? access.reason : "", reason, topic);
  }
});

Deno.test("controllerSubscribe() allows only filters that stay under its tank", () => {
  for (
    const filter of [
      "fishtank/tank1/#",
      "fishtank/tank1/sensors/all",
      "fishtank/tank1/+/temperature",
    ]
  ) assert.equal(controllerSubscribe(topics, filter).ok, true, filter);
  for (
    const filter of [
      "#",
      "+/tank1/#",
      "fishtank/#",
      "fishtank/+/sensors/all",
      "fishtank/tank1",
      "fishtank/tank10/#",
      "$SYS/#",
    ]
  ) assert.equal(controllerSubscribe(topics, filter).ok, false, filter);
});

Deno.test("reaches() says whether a filter can match topics under a run's base", () => {
  assert.equal(reaches("#", "fishtank/tank1"), true);
  assert.equal(reaches("fishtank/+/sensors/all", "fishtank/tank1"), true);
  assert.equal(reaches("fishtank/tank2/#", "fishtank/tank1"), false);
  assert.equal(reaches("other/#", "fishtank/tank1"), false);
  assert.equal(reaches("fishtank", "fishtank/tank1"), false);
});

Deno.test("mosquittoAcl() gives each tank's controller user its own topics", () => {
  const acl = mosquittoAcl({ root: "fishtank", tanks: ["tank1", "tank2"] });
  assert.match(
    acl,
    /user controller-tank2\ntopic read fishtank\/tank2\/#\ntopic write fishtank\/tank2\/control\/\+\ntopic write fishtank\/tank2\/alarm\ntopic write fishtank\/tank2\/ack/,
  );
  assert.match(
    acl,
    /user display\ntopic read fishtank\/#\ntopic write fishtank\/\+\/ranges\/\+/,
  );
  assert.doesNotMatch(
    acl,
    /user controller-tank1\n(topic .*\n)*topic write fishtank\/tank1\/sensors/,
  );
});

Deno.test("livePublish() lets any client command and edit ranges, but not publish what only the simulator does", () => {
  for (
    const topic of [
      "fishtank/tank1/control/heater",
      "fishtank/tank7/ranges/ph",
      "fishtank/tank1/alarm",
      "elsewhere/x",
    ]
  ) assert.equal(livePublish("fishtank", topic).ok, true, topic);
  for (
    const topic of [
      "fishtank/tank1/sensors/all",
      "fishtank/tank2/sensors/temperature",
      "fishtank/tank1/status",
      "fishtank/tank1/clock",
      "fishtank/tank1/errors",
      "fishtank/tank1/actuators",
      "$SYS/broker/load",
    ]
  ) assert.equal(livePublish("fishtank", topic).ok, false, topic);
  assert.equal(
    livePublish("OLP/device/tank", "OLP/device/tank/id/sensors/all").ok,
    false,
  );
});

Deno.test("LiveRoles: a controller is bound to the first tank it touches; viewer reads only; teacher needs the password", () => {
  const roles = new LiveRoles("fishtank", "secret");
  const student = {};
  assert.equal(roles.admit(student, undefined, undefined), undefined);
  assert.equal(roles.subscribe(student, "#").ok, false);
  assert.equal(roles.subscribe(student, "fishtank/tank3/sensors/all").ok, true);
  assert.equal(
    roles.publish(student, "fishtank/tank3/control/heater").ok,
    true,
  );
  assert.equal(
    roles.publish(student, "fishtank/tank1/control/heater").ok,
    false,
  );
  assert.equal(roles.publish(student, "fishtank/tank3/ranges/ph").ok, false);
  assert.equal(roles.subscribe(student, "fishtank/tank1/#").ok, false);

  const viewer = {};
  assert.equal(roles.admit(viewer, "viewer", undefined), undefined);
  assert.equal(roles.subscribe(viewer, "fishtank/#").ok, true);
  assert.equal(
    roles.publish(viewer, "fishtank/tank1/control/heater").ok,
    false,
  );

  const teacher = {};
  assert.match(
    roles.admit(teacher, "teacher", "guess") ?? "",
    /wrong password/,
  );
  assert.equal(
    roles.admit(teacher, "teacher", new TextEncoder().encode("secret")),
    undefined,
  );
  assert.equal(roles.publish(teacher, "fishtank/tank2/ranges/ph").ok, true);
  assert.equal(roles.publish(teacher, "fishtank/tank2/sensors/all").ok, false);
  assert.match(roles.admit({}, "admin", "x") ?? "", /unknown user "admin"/);
});
