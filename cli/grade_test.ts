import assert from "node:assert/strict";
import { parseGradeArgs } from "./grade.ts";

Deno.test("deno task grade --tank: only with --rescore", () => {
  assert.throws(
    () => parseGradeArgs("grade", ["--tank", "rig1"]),
    /--tank: only with --rescore/,
  );
  const options = parseGradeArgs("grade", [
    "--rescore=S",
    "--tank=rig1",
    "--scenario=cold-room",
  ]);
  assert.equal(options.rescore, "S");
  assert.equal(options.rigTank, "rig1");
  assert.equal(options.rigScenario, "cold-room");
});
