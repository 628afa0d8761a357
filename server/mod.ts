/**
 * The class server's backend: the roster (students and their tokens), assignments, submissions and their files,
 * a durable grading queue behind the {@linkcode JobQueue} interface (embedded: {@linkcode KvJobQueue} in the store's
 * file), the worker pool that grades each submission's scenarios as sealed runs, the grade export, and the JSON API
 * the web app mounts under `/api/class/` ({@linkcode classApiRoutes}, which documents every route).
 *
 * Sits above the grading harness and below `web/` and `cli/`.
 *
 * @module
 */

export {
  type Assignment,
  type AssignmentScenario,
  hiddenLabel,
  isSecret,
  loadAssignments,
  parseAssignment,
  START_KINDS,
  type StartKind,
} from "./assignment.ts";
export {
  CLASS_API_PREFIX,
  type ClassApiOptions,
  classApiRoutes,
  requestStudent,
  STUDENT_COOKIE,
  StudentSessions,
  type TeacherCheck,
} from "./class_api.ts";
export {
  ClassRequestError,
  ClassServer,
  type ClassServerOptions,
} from "./class_server.ts";
export {
  ClassStore,
  type ScenarioResult,
  type StoredFile,
  type Submission,
  type SubmissionGrade,
  type SubmissionStatus,
} from "./class_store.ts";
export {
  type QueueInfo,
  type StudentScenarioCard,
  type StudentSubmissionView,
} from "./class_views.ts";
export { gradesCsv } from "./grades_csv.ts";
export {
  type Job,
  type JobFilter,
  jobId,
  type JobProgress,
  type JobQueue,
  type JobState,
} from "./job_queue.ts";
export { KvJobQueue } from "./kv_job_queue.ts";
export {
  NatsDispatcher,
  type NatsDispatcherOptions,
} from "./nats_dispatcher.ts";
export {
  type DeadLetter,
  type KnownWorker,
  type NatsQueueDetails,
  natsQueueDetails,
} from "./nats_queue_details.ts";
export {
  NATS_LIMITS,
  NATS_NAMES,
  NATS_URL,
  natsCaFile,
  natsConnectHint,
  type NatsCredentials,
  natsCredentials,
  type NatsJob,
  type NatsResult,
  toBase64,
  type WorkerBeat,
} from "./nats_protocol.ts";
export { NatsWorker, type NatsWorkerOptions } from "./nats_worker.ts";
export {
  GradingThread,
  ThreadGradingError,
  type ThreadResult,
} from "./grading_thread.ts";
export {
  hashToken,
  newToken,
  parseRosterCsv,
  type RosterEntry,
  type Student,
  tokensCsv,
} from "./roster.ts";
export {
  guardRunPages,
  type RunPagesGuardOptions,
  studentRunId,
  TEACHER_ONLY_PREFIXES,
} from "./run_pages_guard.ts";
export {
  chooseStart,
  controllerCommand,
  SUBMISSION_LIMITS,
  type SubmittedFile,
  unpackUpload,
} from "./submission_files.ts";
export {
  forgetTeacherPassword,
  type PasswordSource,
  teacherPassword,
} from "./teacher_password.ts";
export { WorkerPool, type WorkerPoolOptions } from "./worker_pool.ts";
