/**
 * `toJUnit`: the grades as JUnit XML, which every CI shows: one test case per scenario, a failure below the pass mark
 * (or for a run that did not complete) with the key figures in its message, and an error when the harness itself
 * failed.
 *
 * @module
 */

import { formatNumber } from "./_format.ts";
import { outcomeLabel } from "./_protocol_advice.ts";
import {
  keyFigures,
  scenarioLabel,
  weakestComponents,
} from "./_key_figures.ts";
import type { RunGrade } from "./score.ts";

/** Options for {@linkcode toJUnit}. */
export interface JUnitOptions {
  /** Name of the test suite, also the class name of every test case (`fishtank`). */
  suiteName: string;
}

const ESCAPES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&apos;",
};

/**
 * Text safe in XML 1.0 content and attributes: the five special characters escaped, and characters XML 1.0 cannot
 * carry at all (control characters but tab and newlines, lone surrogates, U+FFFE/U+FFFF) replaced with U+FFFD, since
 * an alarm message or a refused payload may hold anything.
 */
export function escapeXml(text: string): string {
  return text
    .replace(
      // deno-lint-ignore no-control-regex
      /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g,
      "\uFFFD",
    )
    .replace(/[&<>"']/g, (char) => ESCAPES[char]!);
}

function _attributes(fields: Record<string, string | number | undefined>) {
  return Object.entries(fields)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => ` ${key}="${escapeXml(String(value))}"`)
    .join("");
}

function _time(seconds: number | null): string | undefined {
  return seconds === null ? undefined : seconds.toFixed(3);
}

/** The one-line message of a failing case: why it failed, its weakest components and the key figures. */
function _message(grade: RunGrade): string {
  const score = formatNumber(grade.score, 1);
  const why = grade.outcome !== "completed"
    ? `run ${outcomeLabel(grade.outcome, grade.outcomeMessage)}${
      grade.outcomeMessage ? ` (${grade.outcomeMessage})` : ""
    }; score ${score}, pass mark ${grade.passMark}`
    : grade.interference
    ? `score ${score}, pass mark ${grade.passMark}`
    : `score ${score} < pass mark ${grade.passMark}`;
  const weakest = weakestComponents(grade);
  const message = `${
    grade.interference ? `${grade.interference.message}; ` : ""
  }${why}${weakest.length > 0 ? ` (${weakest.join(", ")})` : ""}: ${
    keyFigures(grade).join("; ")
  }`;
  // XML turns newlines in attributes into spaces anyway; say so plainly.
  return message.replace(/\s*\n\s*/g, " ");
}

/** The body of a case: the components, then the advice, one per line. */
function _details(grade: RunGrade): string {
  const lines = [
    `${scenarioLabel(grade)} ${grade.scenario.title}: ${
      formatNumber(grade.score, 1)
    }/100, ${
      grade.pass ? "pass" : "fail"
    } (pass mark ${grade.passMark}), run ${grade.runId}`,
    ...(grade.interference ? [grade.interference.message] : []),
    ...grade.components.map((c) =>
      `${c.name} (weight ${c.weight}): ${
        formatNumber(c.score * 100)
      } %, ${c.detail}`
    ),
    ...grade.advice.map((advice) => `- ${advice}`),
  ];
  return lines.join("\n");
}

/**
 * The grades as a JUnit XML document: a `<testsuites>` with one `<testsuite>` named `suiteName`, one `<testcase>`
 * per grade (name `id vN: title`), a `<failure>` for a grade that did not pass, an `<error>` when the harness failed,
 * the details in `<system-out>`, and `time` attributes from the runs' wall-clock durations when they are known.
 */
export function toJUnit(
  grades: readonly RunGrade[],
  options: JUnitOptions,
): string {
  const { suiteName } = options;
  const errors = grades.filter((g) => g.outcome === "error").length;
  const failures = grades.filter((g) => !g.pass && g.outcome !== "error")
    .length;
  const times = grades.map((g) => g.wallSeconds).filter((t) => t !== null);
  const total = times.length > 0 ? times.reduce((sum, t) => sum + t, 0) : null;
  const counts = {
    name: suiteName,
    tests: grades.length,
    failures,
    errors,
  };
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites${_attributes({ ...counts, time: _time(total) })}>`,
    `  <testsuite${
      _attributes({ ...counts, skipped: 0, time: _time(total) })
    }>`,
  ];
  for (const grade of grades) {
    const name = `${scenarioLabel(grade)}: ${grade.scenario.title}`;
    out.push(
      `    <testcase${
        _attributes({
          classname: `${suiteName}.${grade.scenario.id}`,
          name,
          time: _time(grade.wallSeconds),
        })
      }>`,
    );
    if (!grade.pass) {
      const element = grade.outcome === "error" ? "error" : "failure";
      const type = grade.outcome !== "completed"
        ? grade.outcome
        : grade.interference
        ? "interference"
        : "below_pass_mark";
      out.push(
        `      <${element}${_attributes({ message: _message(grade), type })}>${
          escapeXml(_details(grade))
        }</${element}>`,
      );
    }
    out.push(
      `      <system-out>${escapeXml(_details(grade))}</system-out>`,
      "    </testcase>",
    );
  }
  out.push("  </testsuite>", "</testsuites>");
  return `${out.join("\n")}\n`;
}
