import assert from "node:assert/strict";
import { lexedShapeProblem, yamlShapeProblem } from "./_yaml_shape.ts";

const DEPTH = /nested more than 16 levels deep/;

Deno.test("lexedShapeProblem() refuses deep nesting of every kind from the tokens alone, at the first level too many", () => {
  const deep = 100_000;
  for (
    const text of [
      `a: ${"[".repeat(deep)}${"]".repeat(deep)}\n`,
      `a: ${"{a: ".repeat(deep)}1${"}".repeat(deep)}\n`,
      `${"- ".repeat(deep)}x\n`,
      Array.from({ length: 400 }, (_, i) => `${" ".repeat(i)}k:`).join("\n"),
    ]
  ) {
    const problem = lexedShapeProblem(text);
    assert.match(problem?.message ?? "", DEPTH, text.slice(0, 40));
  }
  assert.equal(
    lexedShapeProblem(`a: ${"[".repeat(15)}${"]".repeat(15)}\n`),
    undefined,
  );
  assert.match(
    lexedShapeProblem(`a: ${"[".repeat(16)}${"]".repeat(16)}\n`)!.message,
    DEPTH,
  );
  // Lines are counted through multi-line tokens.
  assert.equal(
    lexedShapeProblem(`a: |\n  one\n  two\nb: ${"[".repeat(16)}]\n`)?.line,
    4,
  );
});

Deno.test("lexedShapeProblem() counts aliases in block and flow style and stops at 101", () => {
  assert.equal(
    lexedShapeProblem(`a: &a 1\nb: [${"*a, ".repeat(99)}*a]\n`),
    undefined,
  );
  assert.match(
    lexedShapeProblem(`a: &a 1\nb: [${"*a, ".repeat(100)}*a]\n`)!.message,
    /more than 100 YAML aliases/,
  );
  assert.match(
    lexedShapeProblem(`a: &a 1\nb:\n${"  - *a\n".repeat(101)}`)!.message,
    /more than 100 YAML aliases/,
  );
});

Deno.test("yamlShapeProblem() takes the shapes scenarios have: comments, block scalars, anchors, several documents", () => {
  const text = `# header
id: x
description: >
  folded text
    indented further
  and back
ranges:
  temperature: &t { min: 24, max: 26 }
  room_temperature: *t
  light:
    - { from: "08:00", to: "20:00", min: 400 }
    - from: "20:00"
      to: "08:00"
events:
  - at: 1h
    type: feeding
---
second: document
`;
  assert.equal(lexedShapeProblem(text), undefined);
  assert.equal(yamlShapeProblem(text), undefined);
});
