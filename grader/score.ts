/**
 * `scoreRun`: a run's KPIs → its grade (a score out of 100, pass or fail, the components behind it and advice), and
 * `overallScore` over several runs. Pure: the same KPIs, grading and meta give the same grade.
 *
 * @module
 */

import type { RunMeta, RunOutcome } from "../store/mod.ts";
import {
  FAULT_EVENT_TYPES,
  GRADING_COMPONENTS,
  type GradingComponent,
  type ScenarioGrading,
} from "../scenarios/mod.ts";
import { adviceFor } from "./_advice.ts";
import {
  alarmScore,
  type ComponentResult,
  energyScore,
  hygieneScore,
  isIdle,
  rangeScore,
  switchingScore,
} from "./score_components.ts";
import { round } from "./_format.ts";
import { gradingVersionOf } from "./grading_version.ts";
import type { RunKpis } from "./kpis.ts";
import { type Interference, interferenceOf } from "./interference.ts";

/** One part of a grade. */
export interface GradeComponent {
  /** Which component. */
  name: GradingComponent;
  /** The scenario's weight for it (> 0: components weighted 0 are left out). */
  weight: number;
  /** 0–1, three decimals. */
  score: number;
  /** The figure behind the score, in a few words: `97.4 % in range, 0.35 K·h outside over 0.6 h`. */
  detail: string;
}

/** The grade of one run. */
export interface RunGrade {
  /** The run graded. */
  runId: string;
  /** The scenario it played: scores are comparable within one id and version. */
  scenario: { id: string; version: number; title: string };
  /** Who wrote the controller. */
  student: string;
  /** 0–100, one decimal: the weighted mean of the component scores. */
  score: number;
  /** `score ≥ passMark`, the run completed, and no other client commanded the tank. */
  pass: boolean;
  /** The scenario's pass mark. */
  passMark: number;
  /** How the run ended; anything but `completed` is also the first line of `advice`. */
  outcome: RunOutcome;
  /** The harness's sentence on how the run ended, null when it gave none. */
  outcomeMessage: string | null;
  /** Wall-clock seconds the run took (from the meta's start and end), null when unknown. */
  wallSeconds: number | null;
  /** How the controller was confined while it ran (Deno permissions or resource limits), null when it was not. */
  sandbox: string | null;
  /** The components with a weight above 0, in the order of `GRADING_COMPONENTS`. */
  components: GradeComponent[];
  /** The key figures the score rests on. */
  kpis: RunKpis;
  /** What to do better, most important first, with the figures. */
  advice: string[];
  /**
   * Clients not from the controller's processes that commanded the tank, null when none did: the score does not
   * measure the controller, and the run cannot pass.
   */
  interference: Interference | null;
}

function _wallSeconds(meta: RunMeta): number | null {
  if (meta.endedAt === undefined) return null;
  const ms = Date.parse(meta.endedAt) - Date.parse(meta.startedAt);
  return Number.isFinite(ms) && ms >= 0 ? round(ms / 1000, 3) : null;
}

/** Weighted mean of `results` by `weights`; `fallback` when no weight is above 0. */
function _weightedMean(
  results: readonly { weight: number; score: number }[],
  fallback: number,
): number {
  const total = results.reduce((sum, r) => sum + r.weight, 0);
  if (total <= 0) {
    return results.length === 0
      ? fallback
      : results.reduce((sum, r) => sum + r.score, 0) / results.length;
  }
  return results.reduce((sum, r) => sum + r.weight * r.score, 0) / total;
}

/**
 * Scores a run. The score is 100 × the weighted mean of the components with a weight above 0 (see `score_components.ts`
 * and the README for each formula), rounded to one decimal. A run that did not complete keeps the score it earned;
 * it cannot pass, and its outcome leads the advice. Nor can a run in which another client commanded the tank
 * (`interference`): its score is kept, and the reports say it does not measure the controller.
 */
export function scoreRun(
  kpis: RunKpis,
  grading: ScenarioGrading,
  meta: RunMeta,
): RunGrade {
  const version = gradingVersionOf(meta);
  const reference = version >= 2 ? meta.reference : undefined;
  // From version 2, on a scenario with a fault, losses are counted beyond the reference controller's.
  const faulty = kpis.alarms.faults.some((f) =>
    FAULT_EVENT_TYPES.includes(f.type as (typeof FAULT_EVENT_TYPES)[number])
  );
  const ranges = new Map(
    kpis.measurements.map((m) => {
      const referenceArea = faulty
        ? reference?.measurements[m.name]?.areaOutside
        : undefined;
      return [
        m.name,
        rangeScore(m, {
          version,
          ...(referenceArea !== undefined ? { referenceArea } : {}),
        }),
      ] as const;
    }),
  );
  const keptAll = _weightedMean(
    kpis.measurements.map((m) => ({
      weight: grading.weights[m.name],
      score: ranges.get(m.name)!.score,
    })),
    1,
  );
  const keptTemperature = ranges.get("temperature")?.score ?? 1;
  const budgetWh = grading.energyBudgetWh ?? kpis.energy.estimatedBudgetWh;
  const idle = isIdle(kpis.hygiene, kpis.alarms);

  const results = new Map<GradingComponent, ComponentResult>(ranges);
  results.set(
    "energy",
    energyScore(kpis.energy, {
      budgetWh,
      estimated: grading.energyBudgetWh === null,
      kept: keptTemperature,
      version,
      ...(reference !== undefined ? { referenceWh: reference.energyWh } : {}),
    }),
  );
  results.set(
    "switching",
    // From version 2 a run that commanded nothing earns nothing for never switching.
    version >= 2 && idle
      ? { score: 0, detail: "no commands sent" }
      : switchingScore(kpis.switching.actuators, {
        limit: grading.maxSwitchesPerHour,
        kept: keptAll,
      }),
  );
  results.set("alarms", alarmScore(kpis.alarms, { grading, idle }));
  results.set(
    "hygiene",
    hygieneScore(kpis.hygiene, { outcome: meta.outcome, idle }),
  );

  const components: GradeComponent[] = [];
  for (const name of GRADING_COMPONENTS) {
    const result = results.get(name);
    const weight = grading.weights[name];
    if (result === undefined || !(weight > 0)) continue;
    components.push({
      name,
      weight,
      score: round(result.score, 3),
      detail: result.detail,
    });
  }
  const score = round(100 * _weightedMean(components, 0), 1);
  const interference = interferenceOf(kpis.commanding);
  const lost = new Map(
    components.map((c) => [c.name, c.weight * (1 - c.score)] as const),
  );
  return {
    runId: meta.runId,
    scenario: {
      id: meta.scenario.id,
      version: meta.scenario.version,
      title: meta.scenario.title,
    },
    student: meta.student,
    score,
    pass: meta.outcome === "completed" && score >= grading.passMark &&
      interference === null,
    passMark: grading.passMark,
    outcome: meta.outcome,
    outcomeMessage: meta.outcomeMessage ?? null,
    wallSeconds: _wallSeconds(meta),
    sandbox: meta.controller.sandbox ?? null,
    components,
    kpis,
    advice: adviceFor(kpis, {
      grading,
      meta,
      scores: new Map(components.map((c) => [c.name, c.score] as const)),
      lost,
      budgetWh,
      budgetEstimated: grading.energyBudgetWh === null,
    }),
    interference,
  };
}

/**
 * The overall score of several runs: the plain mean of their scores (each scenario counts once, whatever its length
 * or weights; runs that did not complete count with the score they earned), one decimal; 0 for no runs.
 */
export function overallScore(grades: readonly RunGrade[]): number {
  if (grades.length === 0) return 0;
  return round(
    grades.reduce((sum, grade) => sum + grade.score, 0) / grades.length,
    1,
  );
}
