/**
 * The grader: key figures of a recorded run (time in range, K·h outside it, energy, switching, alarms, protocol
 * hygiene), a score out of 100 with advice for the student, and reports for terminals, tools and CI. Pure functions:
 * no I/O, the same records always give the same grade, so a stored run can be rescored at any time.
 *
 * ```ts
 * import { computeKpis, renderScoreCard, scoreRun } from "./mod.ts";
 * const kpis = computeKpis({ scenario, meta, records });
 * const grade = scoreRun(kpis, scenario.grading, meta);
 * console.log(renderScoreCard([grade], { color: true }));
 * ```
 *
 * @module
 */

export {
  type EnergyBudgetOptions,
  estimateEnergyBudget,
  targetTemperature,
} from "./energy_budget.ts";
export {
  type ActuatorKpis,
  type AlarmKpis,
  computeKpis,
  type EnergyKpis,
  type Excursion,
  type FalseAlarm,
  type FaultKpis,
  type HygieneKpis,
  type KpiInput,
  type MeasurementKpis,
  type RunKpis,
  type SwitchingKpis,
  type TopicCount,
} from "./kpis.ts";
export { GRADING_VERSION, gradingVersionOf } from "./grading_version.ts";
export { endedEarly, outcomeLabel } from "./_protocol_advice.ts";
export {
  faultAwareController,
  type FaultAwareTank,
  faultAwareThermostat,
  type ReferenceController,
  referenceFigures,
  referenceRun,
} from "./reference.ts";
export {
  type CommandingClient,
  commandingClients,
  type Interference,
  interferenceOf,
} from "./interference.ts";
export { toJson } from "./report_json.ts";
export { escapeXml, type JUnitOptions, toJUnit } from "./report_junit.ts";
export { toMarkdown } from "./report_markdown.ts";
export { renderScoreCard, type ScoreCardOptions } from "./report_terminal.ts";
export {
  actuatorSwitchingScore,
  alarmScore,
  type ComponentResult,
  detectionScore,
  energyScore,
  FALSE_ALARM_PENALTY,
  HYGIENE_PENALTIES,
  hygieneScore,
  isIdle,
  LATE_ALARM_DEADLINES,
  RANGE_TOLERANCE,
  rangeScore,
  switchingScore,
  TOLERANCE_HOURS,
} from "./score_components.ts";
export {
  type GradeComponent,
  overallScore,
  type RunGrade,
  scoreRun,
} from "./score.ts";
export { type ChartOptions, renderRunCharts } from "./report_charts.ts";
export {
  downsampleIndices,
  type Marker,
  type MeasurementSeries,
  readTruth,
  reduceSeries,
  type RunSeries,
  runSeries,
  type RunTruth,
  type SeriesOptions,
} from "./series.ts";
export { synchronisation } from "./_key_figures.ts";
export {
  describeRigSession,
  RIG_CONTROLLER_CLIENT,
  type RigInterval,
  type RigRunRecord,
  rigScenarioSource,
  type RigSession,
  rigSession,
  type RigSessionOptions,
  sessionClock,
} from "./rig_session.ts";
