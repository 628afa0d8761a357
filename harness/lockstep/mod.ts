/**
 * The lockstep runner: a scenario advanced one step at a time, as fast as the controller answers, with a barrier
 * between steps; the controller's process, started, confined (sandbox) and watched; the preloads injected into it.
 *
 * @module
 */

export { controllerEnv, ControllerProcess } from "./controller_process.ts";
export {
  LockstepHarness,
  type LockstepProgress,
  type LockstepResult,
  type RecordSink,
  runLockstep,
} from "./lockstep.ts";
export {} from "./lockstep_harness.ts";
export { pidNamespacesWork, type SandboxLimits } from "./sandbox.ts";
