import assert from "node:assert/strict";
import { relax } from "./_relax.ts";

Deno.test("relax() reaches source/rate with the exponential of rate·dt", () => {
  const x = relax(10, 0.5, 1, 2); // equilibrium 2
  assert.ok(Math.abs(x - (2 + 8 * Math.exp(-1))) < 1e-12);
});

Deno.test("relax() with rate 0 integrates the source linearly", () => {
  assert.equal(relax(1, 0, 0.25, 8), 3);
});

Deno.test("relax() gives the same result in one step as in many", () => {
  let many = 20;
  for (let i = 0; i < 3600; i++) many = relax(many, 1e-4, 3e-4, 1);
  const one = relax(20, 1e-4, 3e-4, 3600);
  assert.ok(Math.abs(many - one) < 1e-9, `${many} vs ${one}`);
});
