import assert from "node:assert/strict";
import { toJson } from "./report_json.ts";
import { sampleGrades } from "./_testing.ts";

Deno.test("toJson() writes overall figures and every grade, with keys sorted at every level", () => {
  const grades = sampleGrades();
  const text = toJson(grades, { generatedBy: "test", student: "Ada" });
  assert.ok(text.endsWith("}\n"));
  const report = JSON.parse(text);
  assert.deepEqual(Object.keys(report), [
    "generatedBy",
    "grades",
    "overall",
    "student",
  ]);
  assert.deepEqual(report.overall, {
    failed: 2,
    passed: 1,
    runs: 3,
    score: report.overall.score,
  });
  assert.equal(report.grades.length, 3);
  assert.deepEqual(
    Object.keys(report.grades[0]),
    [...Object.keys(report.grades[0])].sort(),
  );
  assert.deepEqual(
    Object.keys(report.grades[0].kpis.energy),
    ["countedWh", "estimatedBudgetWh", "heaterWh", "stuckOnWh"],
  );
  assert.equal(report.grades[2].outcome, "crashed");
});

Deno.test("toJson() is stable: the same grades give the same bytes, whatever the key order they were built in", () => {
  const grades = sampleGrades();
  const shuffled = grades.map((grade) =>
    Object.fromEntries(Object.entries(grade).reverse()) as typeof grade
  );
  assert.equal(toJson(grades), toJson(shuffled));
  assert.equal(toJson(grades), toJson(sampleGrades()));
});
