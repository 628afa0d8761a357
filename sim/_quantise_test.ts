import assert from "node:assert/strict";
import { decimalsOf, quantise } from "./_quantise.ts";

Deno.test("decimalsOf() counts the decimals a resolution needs", () => {
  assert.deepEqual([0.0625, 0.1, 0.01, 1, 5, 0.25, 0.05].map(decimalsOf), [
    4,
    1,
    2,
    0,
    0,
    2,
    2,
  ]);
});

Deno.test("quantise() rounds to multiples of the resolution that print cleanly", () => {
  assert.equal(String(quantise(24.87, 0.0625, 4)), "24.875");
  assert.equal(String(quantise(7.8149999, 0.01, 2)), "7.81");
  assert.equal(String(quantise(0.1 + 0.2, 0.1, 1)), "0.3");
  assert.equal(String(quantise(33.349, 0.1, 1)), "33.3");
  assert.equal(quantise(812.6, 1, 0), 813);
  assert.ok(Object.is(quantise(-0.04, 0.1, 1), 0));
  for (let x = 20; x < 30; x += 0.0137) {
    const r = quantise(x, 0.01, 2);
    assert.ok(Math.abs(r - x) <= 0.005 + 1e-12);
    assert.match(String(r), /^\d+(\.\d{1,2})?$/);
  }
});
