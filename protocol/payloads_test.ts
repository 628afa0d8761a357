import assert from "node:assert/strict";
import {
  decodeText,
  formatReading,
  parseAlarm,
  parseCommand,
  parseControlAll,
  parseHeater,
  parseRange,
  parseSwitch,
} from "./payloads.ts";

const enc = (text: string) => new TextEncoder().encode(text);

Deno.test("parseSwitch() accepts every documented on/off form", () => {
  for (
    const on of [
      "on",
      "ON",
      "true",
      "True",
      "TRUE",
      "1",
      " on\n",
      '"on"',
      "yes",
    ]
  ) {
    assert.deepEqual(parseSwitch(on), { ok: true, value: true }, on);
  }
  for (const off of ["off", "Off", "false", "False", "0", '"false"', "no"]) {
    assert.deepEqual(parseSwitch(off), { ok: true, value: false }, off);
  }
});

Deno.test("parseSwitch() refuses other words and says what it accepts", () => {
  const result = parseSwitch("maybe");
  assert.equal(result.ok, false);
  assert.match(
    !result.ok ? result.error : "",
    /expected on\/off, true\/false, 1\/0 .* got "maybe"/,
  );
  assert.equal(parseSwitch("").ok, false);
  assert.equal(parseSwitch("2").ok, false);
});

Deno.test("parseHeater() takes switch words and powers 0–100 as a fraction", () => {
  assert.deepEqual(parseHeater("True"), { ok: true, value: 1 });
  assert.deepEqual(parseHeater("off"), { ok: true, value: 0 });
  assert.deepEqual(
    parseHeater("1"),
    { ok: true, value: 1 },
    "1 means on, as for every actuator",
  );
  assert.deepEqual(parseHeater("0"), { ok: true, value: 0 });
  assert.deepEqual(parseHeater("50"), { ok: true, value: 0.5 });
  assert.deepEqual(parseHeater("100"), { ok: true, value: 1 });
  assert.deepEqual(parseHeater("37.5"), { ok: true, value: 0.375 });
  assert.deepEqual(parseHeater("50%"), { ok: true, value: 0.5 });
  assert.deepEqual(parseHeater("0.5%"), { ok: true, value: 0.005 });
});

Deno.test("parseHeater() refuses out-of-range, ambiguous and non-numeric powers", () => {
  for (
    const bad of [
      "101",
      "-5",
      "0.5",
      "NaN",
      "Infinity",
      "1e400",
      "fifty",
      "50%%",
      "0x20",
    ]
  ) {
    const result = parseHeater(bad);
    assert.equal(result.ok, false, bad);
  }
  const ambiguous = parseHeater("0.5");
  assert.match(
    !ambiguous.ok ? ambiguous.error : "",
    /ambiguous.*50 = half power/,
  );
});

Deno.test("parseCommand() names unknown actuators and bad values", () => {
  assert.deepEqual(parseCommand("pump", enc("on")), {
    ok: true,
    value: { actuator: "pump", value: true },
  });
  assert.deepEqual(parseCommand("heater", enc("75")), {
    ok: true,
    value: { actuator: "heater", value: 0.75 },
  });
  const unknown = parseCommand("fan", enc("on"));
  assert.match(
    !unknown.ok ? unknown.error : "",
    /unknown actuator "fan": expected one of heater, light, pump, topup/,
  );
  const maybe = parseCommand("heater", enc("maybe"));
  assert.match(
    !maybe.ok ? maybe.error : "",
    /^heater: expected .* got "maybe"/,
  );
});

Deno.test("parseCommand() refuses a 10 MB payload and invalid UTF-8 without decoding them", () => {
  const huge = new Uint8Array(10 * 1024 * 1024).fill(0x31);
  const result = parseCommand("heater", huge);
  assert.match(
    !result.ok ? result.error : "",
    /payload too large \(10485760 bytes, at most 4096\)/,
  );
  const binary = parseCommand("light", new Uint8Array([0xff, 0xfe, 0x00]));
  assert.match(!binary.ok ? binary.error : "", /not valid UTF-8/);
});

Deno.test("parseControlAll() applies a JSON object of commands, all or nothing", () => {
  const result = parseControlAll(
    enc('{"heater": true, "light": "off", "pump": 1, "topup": false}'),
  );
  assert.deepEqual(result, {
    ok: true,
    value: [
      { actuator: "heater", value: 1 },
      { actuator: "light", value: false },
      { actuator: "pump", value: true },
      { actuator: "topup", value: false },
    ],
  });
  assert.deepEqual(parseControlAll('{"heater": 40}'), {
    ok: true,
    value: [{ actuator: "heater", value: 0.4 }],
  });
  const mixed = parseControlAll(
    '{"heater": true, "fan": true, "pump": "maybe"}',
  );
  assert.equal(mixed.ok, false);
  assert.match(
    !mixed.ok ? mixed.error : "",
    /unknown actuator "fan".*pump: expected/,
  );
  for (
    const bad of [
      "[true]",
      "true",
      "{",
      '{"heater": null}',
      '{"heater": {"on": 1}}',
      "{}",
    ]
  ) {
    assert.equal(parseControlAll(bad).ok, false, bad);
  }
});

Deno.test("parseRange() accepts min/max and one-sided ranges within physical bounds", () => {
  assert.deepEqual(parseRange("temperature", enc('{"min":24,"max":26}')), {
    ok: true,
    value: { min: 24, max: 26 },
  });
  assert.deepEqual(parseRange("oxygen", '{"min":6}'), {
    ok: true,
    value: { min: 6 },
  });
  assert.deepEqual(parseRange("light", '{"min":null,"max":50}'), {
    ok: true,
    value: { max: 50 },
  });
});

Deno.test("parseRange() refuses min ≥ max, non-numbers, out-of-bounds and unknown sensors", () => {
  const cases: [string, string, RegExp][] = [
    [
      "temperature",
      '{"min":26,"max":24}',
      /min \(26\) must be below max \(24\)/,
    ],
    ["temperature", '{"min":25,"max":25}', /must be below/],
    ["temperature", '{"min":"24","max":26}', /min must be a number, got "24"/],
    ["ph", '{"min":7,"max":15}', /max 15 is outside the physical bounds 0…14/],
    ["temperature", "{}", /give min, max or both/],
    ["temperature", "24-26", /expected JSON like \{"min":24,"max":26\}/],
    ["temperature", '{"low":24}', /unknown field "low"/],
    ["salinity", '{"min":1}', /unknown measurement "salinity"/],
  ];
  for (const [sensor, payload, message] of cases) {
    const result = parseRange(sensor, payload);
    assert.equal(result.ok, false, payload);
    assert.match(!result.ok ? result.error : "", message);
  }
});

Deno.test("parseAlarm() raises with a message and clears with off words", () => {
  assert.deepEqual(parseAlarm("heater not heating"), {
    ok: true,
    value: { raised: true, message: "heater not heating" },
  });
  assert.deepEqual(parseAlarm('{"message":"too cold"}'), {
    ok: true,
    value: { raised: true, message: "too cold" },
  });
  assert.deepEqual(parseAlarm("1"), {
    ok: true,
    value: { raised: true, message: "1" },
  });
  for (const clear of ["", "off", "False", "0", "clear", '{"alarm": false}']) {
    assert.equal(
      parseAlarm(clear).ok &&
        !(parseAlarm(clear) as { value: { raised: boolean } }).value.raised,
      true,
    );
  }
});

Deno.test("decodeText() and formatReading() keep topics readable", () => {
  assert.deepEqual(decodeText(enc("24.5")), { ok: true, value: "24.5" });
  assert.equal(formatReading(24.875000000001), "24.875");
  assert.equal(formatReading(7), "7");
  assert.equal(formatReading(0.1 + 0.2), "0.3");
});
