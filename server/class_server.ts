/**
 * The class server's operations, for the HTTP API and the CLIs: students submit, the pool grades, students see their
 * status and score cards (hidden scenarios kept secret), the teacher sees the queue, cancels, re-grades, releases
 * hidden scenarios and exports grades as CSV.
 *
 * @module
 */

import type { RunStore } from "../store/mod.ts";
import type { Assignment } from "./assignment.ts";
import {
  ClassStore,
  type Submission,
  type SubmissionGrade,
} from "./class_store.ts";
import {
  type QueueInfo,
  studentAssignmentView,
  type StudentSubmissionView,
  studentSubmissionView,
} from "./class_views.ts";
import { gradesCsv } from "./grades_csv.ts";
import { type Job, jobId } from "./job_queue.ts";
import type { Student } from "./roster.ts";
import { chooseStart, unpackUpload } from "./submission_files.ts";
import { WorkerPool, type WorkerPoolOptions } from "./worker_pool.ts";

/** A request the class server refuses, with the HTTP status that says why. */
export class ClassRequestError extends Error {
  override name = "ClassRequestError";
  /** 400 bad input, 403 not open, 404 unknown, 409 conflict (no attempts left). */
  readonly status: 400 | 403 | 404 | 409;
  constructor(
    status: 400 | 403 | 404 | 409,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.status = status;
  }
}

/** Options of {@linkcode ClassServer.open}. */
export interface ClassServerOptions {
  /** The worker pool's options; `workers: 0` grades nothing (a server that only takes submissions). */
  pool?: WorkerPoolOptions;
}

/** The class server: store, queue and workers. */
export class ClassServer {
  readonly store: ClassStore;
  readonly runs: RunStore;
  readonly pool: WorkerPool | undefined;
  /** Jobs that were running when the last server stopped, put back in the queue at this start. */
  readonly requeued: Job[];
  /** More fields for {@linkcode teacherQueue} (the NATS workers: `deno task serve --nats`). */
  queueDetails: (() => Promise<Record<string, unknown>>) | undefined;

  private constructor(
    store: ClassStore,
    runs: RunStore,
    pool: WorkerPool | undefined,
    requeued: Job[],
  ) {
    this.store = store;
    this.runs = runs;
    this.pool = pool;
    this.requeued = requeued;
  }

  /**
   * Opens the class data in the run store's file (on its connection), puts back what was running when the last server stopped, and
   * starts the workers.
   */
  static async open(
    runs: RunStore,
    options: ClassServerOptions = {},
  ): Promise<ClassServer> {
    const store = ClassStore.on(runs.kv);
    try {
      // This process is the only one with workers on this queue: whatever is marked running died with the last one.
      const requeued = await store.queue.requeueRunning({ all: true });
      for (const job of requeued) {
        await store.updateSubmission(
          job.submissionId,
          (s) =>
            s.attempt === job.attempt && s.status === "running"
              ? { ...s, status: "queued" }
              : null,
        );
      }
      const pool = options.pool?.workers === 0
        ? undefined
        : await WorkerPool.start(store, runs, options.pool);
      return new ClassServer(store, runs, pool, requeued);
    } catch (error) {
      store.close();
      throw error;
    }
  }

  /** Stops the workers (their jobs are requeued at the next start) and closes the class data (not the run store). */
  async close(): Promise<void> {
    await this.pool?.close();
    this.store.close();
  }

  // Students

  /** The assignments a student sees, with their attempts and best and latest scores. */
  async assignmentsFor(student: Student) {
    const out = [];
    for (const a of await this.store.listAssignments()) {
      const subs = await this.store.listSubmissions({
        studentId: student.id,
        assignmentId: a.id,
      });
      const scores: number[] = [];
      let latest: number | undefined;
      for (const s of subs) {
        const g = await this.store.getGrade(s.id);
        if (g) {
          scores.push(g.score);
          latest = g.score;
        }
      }
      out.push(studentAssignmentView(a, {
        attempts: subs.length,
        ...(scores.length > 0 ? { best: Math.max(...scores) } : {}),
        ...(latest !== undefined ? { latest } : {}),
      }));
    }
    return out;
  }

  /**
   * Takes a student's upload for an assignment and queues it.
   *
   * @throws {ClassRequestError} unknown or closed assignment (404, 403), bad file (400), no attempts left (409)
   */
  async submit(
    student: Student,
    input: {
      assignment: string;
      fileName: string;
      bytes: Uint8Array;
      kind?: string;
      entry?: string;
      now?: Date;
    },
  ): Promise<Submission> {
    const assignment = await this.store.getAssignment(input.assignment);
    if (assignment === undefined) {
      throw new ClassRequestError(
        404,
        `no assignment "${input.assignment}"`,
      );
    }
    const now = input.now ?? new Date();
    if (assignment.opens && now.getTime() < Date.parse(assignment.opens)) {
      throw new ClassRequestError(
        403,
        `assignment "${assignment.id}" opens at ${assignment.opens}`,
      );
    }
    let files, start;
    try {
      files = unpackUpload(input.fileName, input.bytes);
      start = chooseStart(files, assignment.commands, {
        ...(input.kind ? { kind: input.kind } : {}),
        ...(input.entry ? { entry: input.entry } : {}),
      });
    } catch (error) {
      throw new ClassRequestError(400, (error as Error).message, {
        cause: error,
      });
    }
    let submission: Submission;
    try {
      submission = await this.store.createSubmission({
        student,
        assignment,
        files,
        start,
        now,
      });
    } catch (error) {
      if (error instanceof RangeError) {
        throw new ClassRequestError(409, error.message, { cause: error });
      }
      throw error;
    }
    await this.store.queue.enqueue(submission.id, submission.attempt);
    this.pool?.nudge();
    return submission;
  }

  /** Where a queued job stands. */
  async queueInfo(id: string): Promise<QueueInfo | undefined> {
    const waiting = await this.store.queue.list({ state: "queued" });
    const index = waiting.findIndex((j) => j.id === id);
    if (index < 0) return undefined;
    const average = await this.store.getSetting<number>("job_seconds");
    const workers = this.pool?.size ?? 1;
    return {
      position: index + 1,
      estimateSeconds: average === undefined
        ? null
        : Math.round((Math.floor(index / workers) + 1) * average),
    };
  }

  /** A submission as its student sees it; undefined when it is not theirs. */
  async studentView(
    student: Student,
    submissionId: string,
  ): Promise<StudentSubmissionView | undefined> {
    const s = await this.store.getSubmission(submissionId);
    if (s === undefined || s.studentId !== student.id) return undefined;
    return await this.#view(s);
  }

  async #view(s: Submission): Promise<StudentSubmissionView | undefined> {
    const a = await this.store.getAssignment(s.assignmentId);
    if (a === undefined) return undefined;
    const id = jobId(s.id, s.attempt);
    const job = s.status === "running"
      ? await this.store.queue.get(id)
      : undefined;
    const queue = s.status === "queued" ? await this.queueInfo(id) : undefined;
    const grade = await this.#currentGrade(s);
    return studentSubmissionView({
      submission: s,
      assignment: a,
      grade,
      job,
      queue,
    });
  }

  /** The grade shown for a submission: its current attempt's, else the latest earlier one (during a re-grade). */
  async #currentGrade(s: Submission): Promise<SubmissionGrade | undefined> {
    return await this.store.getGrade(s.id, s.attempt) ??
      await this.store.getGrade(s.id);
  }

  /**
   * Whether a student may open a run's report and replay: a run on their own score cards, i.e. of a visible scenario
   * of their submission's current grade (a hidden one once released). The cards come from the student's view, the one
   * place that decides what is secret.
   */
  async studentMayOpenRun(student: Student, runId: string): Promise<boolean> {
    for (
      const s of await this.store.listSubmissions({ studentId: student.id })
    ) {
      const assignment = await this.store.getAssignment(s.assignmentId);
      const grade = await this.#currentGrade(s);
      if (assignment === undefined || grade === undefined) continue;
      const card = studentSubmissionView({ submission: s, assignment, grade });
      if (card.grade?.scenarios.some((r) => !r.hidden && r.runId === runId)) {
        return true;
      }
    }
    return false;
  }

  /** A student's submissions (of one assignment), as they see them. */
  async studentSubmissions(
    student: Student,
    assignmentId?: string,
  ): Promise<StudentSubmissionView[]> {
    const subs = await this.store.listSubmissions({
      studentId: student.id,
      ...(assignmentId !== undefined ? { assignmentId } : {}),
    });
    const views = [];
    for (const s of subs) {
      const v = await this.#view(s);
      if (v) views.push(v);
    }
    return views;
  }

  // Teacher

  /** The queue: waiting (in order), running (with progress) and failed jobs. */
  async teacherQueue() {
    const shown = new Set<Job["state"]>(["queued", "running", "failed"]);
    const jobs = (await this.store.queue.list()).filter((j) =>
      shown.has(j.state)
    );
    const submissions = await this.store.getSubmissions(
      jobs.map((j) => j.submissionId),
    );
    const describe = (state: Job["state"]) =>
      jobs.filter((j) => j.state === state).map((job) => {
        const s = submissions.get(job.submissionId);
        return {
          ...job,
          student: s?.student ?? null,
          assignment: s?.assignmentId ?? null,
        };
      });
    return {
      workers: this.pool?.size ?? 0,
      waiting: describe("queued"),
      running: describe("running"),
      failed: describe("failed"),
      ...await this.queueDetails?.(),
    };
  }

  /** Cancels a job (waiting or running) and marks its submission cancelled when waiting. */
  async cancel(id: string): Promise<boolean> {
    const job = await this.store.queue.get(id);
    if (job === undefined) return false;
    const ok = await this.store.queue.cancel(id);
    if (ok) {
      // A running job's worker marks it when it stops; a waiting one has no worker.
      await this.store.updateSubmission(
        job.submissionId,
        (s) =>
          s.attempt !== job.attempt || s.status !== "queued" ? null : {
            ...s,
            status: "cancelled",
            error: "cancelled by the teacher",
          },
      );
    }
    return ok;
  }

  /** Grades a submission again (after a scenario fix): its job for a new attempt. */
  async regrade(submissionId: string): Promise<Submission | undefined> {
    const s = await this.store.getSubmission(submissionId);
    if (s === undefined) return undefined;
    // A job still in hand for the old attempt is superseded.
    await this.store.queue.cancel(
      jobId(s.id, s.attempt),
      "superseded by a re-grade",
    );
    const next = await this.store.updateSubmission(s.id, (current) => {
      const updated: Submission = {
        ...current,
        attempt: current.attempt + 1,
        status: "queued",
      };
      delete updated.error;
      return updated;
    });
    if (next === undefined) return undefined;
    await this.store.queue.enqueue(next.id, next.attempt);
    this.pool?.nudge();
    return next;
  }

  /** Grades every submission of an assignment again; returns how many were queued. */
  async regradeAssignment(assignmentId: string): Promise<number> {
    let n = 0;
    for (
      const s of await this.store.listSubmissions({ assignmentId })
    ) {
      if (await this.regrade(s.id)) n++;
    }
    return n;
  }

  /** A submission with everything (hidden names, run ids, errors): the teacher's view. */
  async teacherSubmission(submissionId: string) {
    const s = await this.store.getSubmission(submissionId);
    if (s === undefined) return undefined;
    const job = await this.store.queue.get(jobId(s.id, s.attempt));
    return {
      submission: s,
      job: job ?? null,
      grades: await this.store.listGrades(s.id),
    };
  }

  /** A student's submissions with their grades, for the teacher. */
  async history(studentId: string) {
    const student = await this.store.getStudent(studentId);
    if (student === undefined) return undefined;
    const submissions = [];
    for (const s of await this.store.listSubmissions({ studentId })) {
      submissions.push({
        submission: s,
        grade: (await this.#currentGrade(s)) ?? null,
      });
    }
    const { tokenHash: _, ...shown } = student;
    return { student: shown, submissions };
  }

  /**
   * Every student with their submissions and the grades shown (as {@linkcode history} gives one student), from a few
   * scans of the store: what the console and the grade export read.
   */
  async histories() {
    const students = await this.store.listStudents();
    const byStudent = new Map<
      string,
      { submission: Submission; grade: SubmissionGrade | null }[]
    >(students.map((s) => [s.id, []]));
    for (
      const { submission, grade } of await this.store.submissionsWithGrades()
    ) {
      byStudent.get(submission.studentId)?.push({
        submission,
        grade: grade ?? null,
      });
    }
    return students.map((student) => {
      const { tokenHash: _, ...shown } = student;
      return { student: shown, submissions: byStudent.get(student.id)! };
    });
  }

  /** Adds or replaces an assignment (its scenarios are checked when graded). */
  async putAssignment(a: Assignment): Promise<Assignment> {
    return await this.store.putAssignment(a);
  }

  /** Releases an assignment's hidden scenarios to its students. */
  async release(assignmentId: string): Promise<Assignment | undefined> {
    return await this.store.release(assignmentId);
  }

  /** The grade export of one assignment as CSV. */
  async gradesCsv(assignmentId: string): Promise<string | undefined> {
    const a = await this.store.getAssignment(assignmentId);
    if (a === undefined) return undefined;
    const rows = (await this.histories()).map(({ student, submissions }) => {
      const subs = submissions.filter((x) =>
        x.submission.assignmentId === assignmentId
      );
      return {
        student,
        attempts: subs.length,
        anyLate: subs.some((x) => x.submission.late),
        graded: subs.flatMap(({ submission, grade }) =>
          grade ? [{ submission, grade }] : []
        ),
      };
    });
    return gradesCsv(a, rows);
  }
}
