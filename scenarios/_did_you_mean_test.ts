import assert from "node:assert/strict";
import { didYouMean, didYouMeanHint, editDistance } from "./_did_you_mean.ts";

Deno.test("editDistance() counts insertions, deletions and substitutions", () => {
  assert.equal(editDistance("", ""), 0);
  assert.equal(editDistance("abc", ""), 3);
  assert.equal(editDistance("duraton", "duration"), 1);
  assert.equal(editDistance("kitten", "sitting"), 3);
  assert.equal(editDistance("stpe", "step"), 1);
});

Deno.test("didYouMean() suggests close keys, ignoring case and underscores", () => {
  const keys = ["duration", "description", "daylight", "heater_power", "step"];
  assert.equal(didYouMean("duraton", keys), "duration");
  assert.equal(didYouMean("heaterPower", keys), "heater_power");
  assert.equal(didYouMean("Daylight", keys), "daylight");
  assert.equal(didYouMean("stpe", keys), "step");
  assert.equal(didYouMean("colour", keys), undefined);
  assert.equal(didYouMeanHint("duraton", keys), '; did you mean "duration"?');
  assert.equal(didYouMeanHint("xyz", keys), "");
});
