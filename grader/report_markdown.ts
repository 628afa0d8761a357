/**
 * `toMarkdown`: the grades as Markdown for a CI job summary (GitHub's `$GITHUB_STEP_SUMMARY`, GitLab's reports): a
 * summary table with one row per scenario, then a section per scenario with its components and advice.
 *
 * @module
 */

import { formatNumber } from "./_format.ts";
import { outcomeLabel } from "./_protocol_advice.ts";
import {
  interferenceLine,
  keyFigures,
  scenarioLabel,
  synchronisation,
  verdict,
} from "./_key_figures.ts";
import { commandingClients } from "./interference.ts";
import { overallScore, type RunGrade } from "./score.ts";

/**
 * Text safe in Markdown: `&`, `<` and `>` as entities (an alarm message must not become HTML in the summary),
 * newlines as spaces; in table cells `|` is escaped too.
 */
function _text(text: string, cell = false): string {
  const safe = text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/\s*\r?\n\s*/g, " ");
  return cell ? safe.replace(/\|/g, "\\|") : safe;
}

function _row(cells: readonly string[]): string {
  return `| ${cells.map((cell) => _text(cell, true)).join(" | ")} |`;
}

function _mark(grade: RunGrade): string {
  return `${grade.pass ? "✅" : "❌"} ${verdict(grade)}`;
}

function _section(grade: RunGrade): string[] {
  const lines = [
    `### ${_text(`${scenarioLabel(grade)}: ${grade.scenario.title}`)}`,
    "",
    `**${formatNumber(grade.score, 1)} / 100, ${
      _mark(grade)
    }** (pass mark ${grade.passMark}) · ${_text(grade.student)} · run \`${
      grade.runId.replace(/`/g, "")
    }\``,
    "",
  ];
  if (grade.outcome !== "completed") {
    lines.push(
      `> **Run ${outcomeLabel(grade.outcome, grade.outcomeMessage)}**${
        grade.outcomeMessage ? `: ${_text(grade.outcomeMessage)}` : ""
      }`,
      "",
    );
  }
  const interference = interferenceLine(grade);
  if (interference !== null) lines.push(`> **${_text(interference)}**`, "");
  const sync = synchronisation(grade);
  if (sync !== null) lines.push(`Steps: ${_text(sync)}`, "");
  const clients = commandingClients(grade.kpis.commanding);
  if (clients !== null) lines.push(`Clients: ${_text(clients)}`, "");
  lines.push(
    "| Component | Weight | Score | Figures |",
    "| --- | ---: | ---: | --- |",
    ...grade.components.map((c) =>
      _row([
        c.name,
        formatNumber(c.weight, c.weight % 1 ? 1 : 0),
        `${formatNumber(c.score * 100)} %`,
        c.detail,
      ])
    ),
    "",
  );
  if (grade.advice.length > 0) {
    lines.push(
      "Advice:",
      "",
      ...grade.advice.map((advice) => `- ${_text(advice)}`),
      "",
    );
  }
  return lines;
}

/**
 * The grades in Markdown: a heading, the overall line (mean score, passed and failed), a summary table with one row
 * per grade (scenario, score, result, outcome, key figures), then a section per grade.
 */
export function toMarkdown(grades: readonly RunGrade[]): string {
  const passed = grades.filter((grade) => grade.pass).length;
  const lines = [
    "## Fish tank grades",
    "",
    `Overall **${
      formatNumber(overallScore(grades), 1)
    } / 100** (mean of ${grades.length} scenario${
      grades.length === 1 ? "" : "s"
    }): ${passed} passed, ${grades.length - passed} failed.`,
    "",
    "| Scenario | Score | Result | Outcome | Key figures |",
    "| --- | ---: | --- | --- | --- |",
    ...grades.map((grade) =>
      _row([
        `${scenarioLabel(grade)}: ${grade.scenario.title}`,
        formatNumber(grade.score, 1),
        _mark(grade),
        outcomeLabel(grade.outcome, grade.outcomeMessage),
        keyFigures(grade).join("; "),
      ])
    ),
    "",
  ];
  for (const grade of grades) lines.push(..._section(grade));
  return `${lines.join("\n").trimEnd()}\n`;
}
