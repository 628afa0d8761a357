import assert from "node:assert/strict";
import { originNote, parseOriginNote } from "./connection_origin.ts";

Deno.test("originNote() words come back as the origin they say, and other notes are no origin", () => {
  for (
    const origin of [
      { controller: true },
      { controller: false, process: "mosquitto_pub" },
      { controller: false, process: null },
    ] as const
  ) {
    assert.deepEqual(parseOriginNote(originNote(origin)), origin);
  }
  assert.equal(
    originNote({ controller: false, process: "mosquitto_pub" }),
    "not from the controller's processes (mosquitto_pub)",
  );
  assert.equal(parseOriginNote("student-client"), undefined);
  assert.equal(parseOriginNote(undefined), undefined);
});

Deno.test("originNote() keeps a command name with parentheses and newlines on one line that parses back", () => {
  const note = originNote({ controller: false, process: "a (b)\nc" });
  assert.equal(note, "not from the controller's processes (a b c)");
  assert.deepEqual(parseOriginNote(note), {
    controller: false,
    process: "a b c",
  });
});
