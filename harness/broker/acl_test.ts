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

Deno.test("livePublish() lets any client publish a rig's readings, status and actuator state, and still no simulated tank's", () => {
  const rigs = ["rig1"];
  for (
    const topic of [
      "fishtank/rig1/sensors/temperature",
      "fishtank/rig1/sensors/all",
      "fishtank/rig1/status",
      "fishtank/rig1/actuators",
    ]
  ) assert.equal(livePublish("fishtank", topic, { rigs }).ok, true, topic);
  for (
    const topic of [
      "fishtank/tank1/sensors/temperature",
      "fishtank/rig2/sensors/all",
      "fishtank/rig1/sensors/temperature",
    ]
  ) {
    assert.equal(
      livePublish("fishtank", topic, {
        rigs: topic.includes("rig1/") ? [] : rigs,
      }).ok,
      false,
      topic,
    );
  }
  assert.equal(
    livePublish("OLP/device/tank", "OLP/device/tank/fake/sensors/all", {
      rigs: ["fake"],
    }).ok,
    true,
  );
});

Deno.test("LiveRoles: a rig publishes its own readings with its password only, and reads the control topics it follows", () => {
  const roles = new LiveRoles("fishtank", "secret", {
    rigs: { rig1: "rigpass" },
  });
  assert.equal(roles.isRig("rig1"), true);
  assert.match(roles.admit({}, "rig1", "guess") ?? "", /wrong password/);
  assert.match(roles.admit({}, "rig2", "x") ?? "", /or as a rig \(rig1\)/);

  const rig = {};
  assert.equal(roles.admit(rig, "rig1", "rigpass"), undefined);
  assert.equal(roles.role(rig), "rig");
  for (
    const topic of [
      "fishtank/rig1/sensors/temperature",
      "fishtank/rig1/sensors/all",
      "fishtank/rig1/status",
      "fishtank/rig1/actuators",
    ]
  ) assert.equal(roles.publish(rig, topic).ok, true, topic);
  for (
    const topic of [
      "fishtank/tank1/sensors/temperature",
      "fishtank/rig1/control/heater",
      "fishtank/rig1/control_source",
      "fishtank/rig1/ranges/ph",
      "elsewhere/x",
    ]
  ) assert.equal(roles.publish(rig, topic).ok, false, topic);
  for (
    const filter of [
      "fishtank/rig1/#",
      "fishtank/rig1/control_source",
      "fishtank/+/control/+",
      "fishtank/tank1/control/heater",
    ]
  ) assert.equal(roles.subscribe(rig, filter).ok, true, filter);
  for (const filter of ["#", "fishtank/tank1/sensors/all", "fishtank/+/#"]) {
    assert.equal(roles.subscribe(rig, filter).ok, false, filter);
  }

  // Nobody else publishes the rig's readings, the teacher included; a controller may command the rig.
  const student = {};
  roles.admit(student, undefined, undefined);
  assert.match(
    (roles.publish(student, "fishtank/rig1/sensors/all") as {
      reason: string;
    }).reason,
    /only rig rig1, connected as user rig1/,
  );
  assert.equal(roles.publish(student, "fishtank/rig1/control/heater").ok, true);
  const teacher = {};
  roles.admit(teacher, "teacher", "secret");
  assert.equal(roles.publish(teacher, "fishtank/rig1/sensors/all").ok, false);
  assert.equal(roles.publish(teacher, "fishtank/rig1/control_source").ok, true);
  assert.throws(
    () => new LiveRoles("fishtank", "s", { rigs: { viewer: "x" } }),
    RangeError,
  );
});
