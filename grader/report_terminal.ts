/**
 * `renderScoreCard`: the grades as a student reads them in a terminal, one table per scenario with its components
 * and key figures, pass or fail in words and in colour, the advice, and an overall line.
 *
 * @module
 */

import Table from "cli-table3";
import pc from "picocolors";
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

/** Options for {@linkcode renderScoreCard}. */
export interface ScoreCardOptions {
  /** Colour the verdicts and scores with ANSI codes (off for files, pipes and `NO_COLOR`). */
  color: boolean;
}

type Colors = ReturnType<typeof pc.createColors>;

function _scoreColor(c: Colors, score: number): (text: string) => string {
  return score >= 0.9 ? c.green : score >= 0.6 ? c.yellow : c.red;
}

function _card(grade: RunGrade, c: Colors): string {
  const verdictText = verdict(grade).toUpperCase();
  const lines = [
    c.bold(
      `${scenarioLabel(grade)} · ${grade.scenario.title} · ${grade.student}`,
    ),
    `${c.bold(`${formatNumber(grade.score, 1)} / 100`)}  ${
      (grade.pass ? c.green : c.red)(c.bold(verdictText))
    }  (pass mark ${formatNumber(grade.passMark, grade.passMark % 1 ? 1 : 0)})`,
  ];
  if (grade.outcome !== "completed") {
    lines.push(
      c.red(
        `Run ${outcomeLabel(grade.outcome, grade.outcomeMessage)}${
          grade.outcomeMessage
            ? `: ${grade.outcomeMessage.replace(/\s*\n\s*/g, " ")}`
            : ""
        }`,
      ),
    );
  }
  const interference = interferenceLine(grade);
  if (interference !== null) lines.push(c.red(c.bold(interference)));
  const table = new Table({
    head: ["component", "weight", "score", "figures"],
    colAligns: ["left", "right", "right", "left"],
    // cli-table3 colours headings and borders unless told not to; colour is ours to decide.
    style: { head: [], border: [], compact: true },
  });
  for (const component of grade.components) {
    table.push([
      component.name,
      formatNumber(component.weight, component.weight % 1 ? 1 : 0),
      _scoreColor(c, component.score)(
        `${formatNumber(component.score * 100)} %`,
      ),
      component.detail,
    ]);
  }
  table.push([c.bold("total"), "", c.bold(formatNumber(grade.score, 1)), ""]);
  lines.push(table.toString());
  lines.push(`Key figures: ${keyFigures(grade).join(" · ")}`);
  const clients = commandingClients(grade.kpis.commanding);
  if (clients !== null) lines.push(c.dim(`Clients: ${clients}`));
  const sync = synchronisation(grade);
  if (sync !== null) {
    lines.push(
      (grade.kpis.hygiene.ackMode === "timeout" ? c.yellow : c.dim)(
        `Steps: ${sync}`,
      ),
    );
  }
  if (grade.sandbox !== null) lines.push(c.dim(`Sandbox: ${grade.sandbox}`));
  if (grade.outcome === "crashed") {
    lines.push(
      c.dim(
        `Its whole output is stored with the run: deno task export ${grade.runId} --out run.jsonl (records of kind "output")`,
      ),
    );
  }
  if (grade.advice.length > 0) {
    lines.push("Advice:");
    for (const advice of grade.advice) lines.push(`  • ${advice}`);
  }
  return lines.join("\n");
}

/** The score card of `grades`: a card per run, then the overall line (the mean score, and how many passed). */
export function renderScoreCard(
  grades: readonly RunGrade[],
  options: ScoreCardOptions,
): string {
  const c = pc.createColors(options.color);
  const passed = grades.filter((grade) => grade.pass).length;
  const failed = grades.length - passed;
  const overall = `Overall ${
    formatNumber(overallScore(grades), 1)
  } / 100 (mean of ${grades.length} scenario${
    grades.length === 1 ? "" : "s"
  }): ${passed} passed, ${failed} failed`;
  const verdictLine = failed === 0 && grades.length > 0
    ? c.green(c.bold(overall))
    : c.red(c.bold(overall));
  return [...grades.map((grade) => _card(grade, c)), verdictLine].join("\n\n") +
    "\n";
}
