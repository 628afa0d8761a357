/**
 * Grading a run end to end: one scenario in lockstep against a controller, stored and graded
 * ({@linkcode gradeScenario}); a stored run graded again from its records; the digest (grade and peak-keeping charts)
 * stored with a finished run; export to and import from JSON Lines.
 *
 * @module
 */

export { gradeScenario, gradeStoredRun } from "./grade_scenario.ts";
export {
  IncompleteRunError,
  type IncompleteRunErrorOptions,
  incompleteRunMessage,
} from "./incomplete_run_error.ts";
export {
  DIGEST_ATTACHMENT,
  DIGEST_POINTS,
  digestStoredRun,
  type RunDigest,
  storedDigest,
} from "./run_digest.ts";
export {
  backupStore,
  exportRun,
  importRun,
  readingsCsv,
} from "./run_transfer.ts";
export {
  type RigSessionRun,
  type RigSessionRunOptions,
  scoreRigSession,
} from "./rig_session_run.ts";
