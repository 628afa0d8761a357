/**
 * Property-based tests (fast-check) of what guards the broker: access rules for topics of any shape, and the packet
 * guard for any byte stream in any chunks. Neither throws, and nothing outside a controller's tank is allowed.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { TankTopics } from "../../protocol/mod.ts";
import { controllerPublish, controllerSubscribe } from "./acl.ts";
import { PacketGuard } from "./_packet_guard.ts";

const RUNS = { numRuns: 3000 };

Deno.test("topics of any shape: parsing and access control never throw, and nothing outside the tank is allowed", () => {
  const topics = new TankTopics("fishtank", "tank1");
  const level = fc.oneof(
    fc.constantFrom(
      "fishtank",
      "tank1",
      "tank2",
      "control",
      "heater",
      "sensors",
      "all",
      "ranges",
      "+",
      "#",
      "",
      "$SYS",
    ),
    fc.string({ maxLength: 8 }),
  );
  fc.assert(
    fc.property(
      fc.array(level, { minLength: 1, maxLength: 300 }).map((l) => l.join("/")),
      (topic) => {
        topics.parse(topic);
        const publish = controllerPublish(topics, topic);
        if (publish.ok) {
          assert.ok(topic.startsWith("fishtank/tank1/"), topic);
          assert.ok(
            /^fishtank\/tank1\/(control\/[^/]+|alarm|ack)$/.test(topic),
            topic,
          );
        }
        const subscribe = controllerSubscribe(topics, topic);
        if (subscribe.ok) assert.ok(topic.startsWith("fishtank/tank1/"), topic);
      },
    ),
    RUNS,
  );
});

Deno.test("PacketGuard: any byte stream, in any chunks, is either followed or refused, never thrown on", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 2000 }),
      fc.integer({ min: 1, max: 64 }),
      (bytes, chunk) => {
        const guard = new PacketGuard(1024);
        for (let i = 0; i < bytes.length; i += chunk) {
          const reason = guard.feed(bytes.subarray(i, i + chunk));
          if (reason !== undefined) {
            assert.match(reason, /larger than 1024 bytes|malformed/);
            return;
          }
        }
      },
    ),
    RUNS,
  );
});
