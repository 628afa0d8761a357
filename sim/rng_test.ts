import assert from "node:assert/strict";
import { createRng } from "./rng.ts";

function draw(
  seed: number,
  count: number,
  kind: "next" | "normal" = "next",
): number[] {
  const rng = createRng(seed);
  return Array.from({ length: count }, () => rng[kind]());
}

Deno.test("createRng() gives the same sequence for the same seed", () => {
  assert.deepEqual(draw(42, 1000), draw(42, 1000));
  assert.deepEqual(draw(42, 1000, "normal"), draw(42, 1000, "normal"));
});

Deno.test("createRng() gives different sequences for neighbouring and far-apart seeds", () => {
  const seeds = [0, 1, 2, -1, 2 ** 32, 2 ** 32 + 1, Number.MAX_SAFE_INTEGER];
  const firsts = seeds.map((seed) => draw(seed, 4).join());
  assert.equal(new Set(firsts).size, seeds.length);
});

Deno.test("next() stays in [0, 1) with a mean near 1/2 and uses more than 32 bits", () => {
  const values = draw(7, 100_000);
  assert.ok(values.every((x) => x >= 0 && x < 1));
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  assert.ok(Math.abs(mean - 0.5) < 0.005, `mean ${mean}`);
  // With only 32 bits every value times 2^32 would be an integer.
  assert.ok(values.some((x) => !Number.isInteger(x * 2 ** 32)));
});

Deno.test("first draws of small seeds are not stuck near 0 or 1", () => {
  for (let seed = 0; seed < 100; seed++) {
    const first = createRng(seed).next();
    assert.ok(
      first > 1e-4 && first < 1 - 1e-4,
      `seed ${seed} opens with ${first}`,
    );
  }
});

Deno.test("normal() has mean 0 and standard deviation 1", () => {
  const values = draw(3, 200_000, "normal");
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) /
    values.length;
  assert.ok(Math.abs(mean) < 0.01, `mean ${mean}`);
  assert.ok(
    Math.abs(Math.sqrt(variance) - 1) < 0.01,
    `sd ${Math.sqrt(variance)}`,
  );
  assert.ok(values.every(Number.isFinite));
});

Deno.test("createRng() rejects seeds that are not safe integers", () => {
  for (const seed of [0.5, NaN, Infinity, 2 ** 53]) {
    assert.throws(() => createRng(seed), RangeError);
  }
});
