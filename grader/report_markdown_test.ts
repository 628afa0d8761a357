import assert from "node:assert/strict";
import { toMarkdown } from "./report_markdown.ts";
import { sampleGrades } from "./_testing.ts";

Deno.test("toMarkdown() starts with a summary table of one row per scenario, then a section each", () => {
  const markdown = toMarkdown(sampleGrades());
  const lines = markdown.split("\n");
  const header = lines.indexOf(
    "| Scenario | Score | Result | Outcome | Key figures |",
  );
  assert.ok(header > 0, markdown);
  assert.equal(lines[header + 1], "| --- | ---: | --- | --- | --- |");
  const rows = lines.slice(header + 2, lines.indexOf("", header));
  assert.equal(rows.length, 3);
  assert.match(
    rows[0]!,
    /^\| test-day v1: Test day \| 100\.0 \| ✅ pass \| completed \| temperature 100\.0 % in range; heater 288 Wh; .* \|$/,
  );
  assert.match(
    rows[1]!,
    /^\| test-day v1: Tom &amp; "Jerry" &lt;3 \| \d+\.\d \| ❌ fail \| completed \|/,
  );
  assert.match(rows[2]!, /\| ❌ fail \(crashed\) \| crashed \|/);
  for (const row of rows) {
    assert.equal(
      row.replace(/\\\|/g, "").split("|").length,
      7,
      `five cells: ${row}`,
    );
  }
  assert.match(
    markdown,
    /^## Fish tank grades\n\nOverall \*\*\d+\.\d \/ 100\*\* \(mean of 3 scenarios\): 1 passed, 2 failed\./,
  );
  assert.equal(markdown.match(/^### /gm)?.length, 3);
  assert.ok(markdown.endsWith("\n") && !markdown.endsWith("\n\n"));
});

Deno.test("toMarkdown() escapes what a controller wrote, so it cannot become HTML or break a table", () => {
  const markdown = toMarkdown(sampleGrades());
  assert.ok(!markdown.includes("<b>"));
  assert.ok(
    markdown.includes("&lt;b&gt;\"x\" &amp; 'y'&lt;/b&gt; | tank"),
    "advice lines keep | outside tables",
  );
  assert.match(
    markdown,
    /> \*\*Run crashed\*\*: the controller exited with code 1 Traceback: boom/,
  );
  assert.match(
    markdown,
    /\| temperature \| 3 \| \d+ % \| \d+\.\d % in range, .* \|/,
  );
});
