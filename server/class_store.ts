/**
 * The class server's data in Deno KV, in the same file as the runs (its own connection): students, assignments,
 * submissions with their files, grades, settings, and the grading queue ({@linkcode KvJobQueue}).
 *
 * | key                                                  | value                                   |
 * | ---------------------------------------------------- | --------------------------------------- |
 * | `["class", "student", id]`                           | {@linkcode Student}                      |
 * | `["class", "token", tokenHash]`                      | student id                               |
 * | `["class", "assignment", id]`                        | {@linkcode Assignment}                   |
 * | `["class", "submission", id]`                        | {@linkcode Submission}                   |
 * | `["class", "by_student", studentId, assignment, id]` | id (a student's submissions, in order)   |
 * | `["class", "by_assignment", assignment, id]`         | id                                       |
 * | `["class", "attempts", studentId, assignment]`       | submissions made (checked when adding)   |
 * | `["class", "file", id, fileIndex, chunk]`            | a slice of a submitted file              |
 * | `["class", "grade", id, attempt]`                    | {@linkcode SubmissionGrade}, written once |
 * | `["class", "setting", name]`                         | a setting (the teacher's password)       |
 * | `["jobq", …]`                                        | the queue ({@linkcode KvJobQueue})       |
 *
 * @module
 */

import type { Assignment, StartKind } from "./assignment.ts";
import { KvJobQueue } from "./kv_job_queue.ts";
import {
  hashToken,
  newToken,
  type RosterEntry,
  type Student,
  studentSlug,
} from "./roster.ts";
import type { StartCommand, SubmittedFile } from "./submission_files.ts";
import type { Kv, KvAtomic } from "../store/mod.ts";

/** Where a submission is. */
export type SubmissionStatus =
  | "queued"
  | "running"
  | "graded"
  | "failed"
  | "cancelled";

/** A stored file's name and size (its bytes are in slices). */
export interface StoredFile {
  path: string;
  size: number;
  chunks: number;
}

/** One submission of a student's controller for an assignment. */
export interface Submission {
  id: string;
  studentId: string;
  student: string;
  group: string;
  assignmentId: string;
  /** 1 for the student's first submission to this assignment, 2 for the next, … */
  number: number;
  createdAt: string;
  /** Made after the assignment's due date. */
  late: boolean;
  start: StartCommand;
  files: StoredFile[];
  /** The grading attempt the current job is for (1, then one more per re-grade). */
  attempt: number;
  status: SubmissionStatus;
  /** Why it failed or was cancelled. */
  error?: string;
}

/** One scenario's result within a submission's grade. */
export interface ScenarioResult {
  index: number;
  scenario: { id: string; version: number; title: string };
  weight: number;
  hidden: boolean;
  score: number;
  pass: boolean;
  outcome: string;
  outcomeMessage: string | null;
  runId: string;
  components: { name: string; score: number; weight: number }[];
  advice: string[];
  /** Another program commanded the tank during the run (the score does not measure the controller). */
  interference: boolean;
}

/** A submission's grade for one grading attempt. */
export interface SubmissionGrade {
  submissionId: string;
  attempt: number;
  /** The weighted mean of the scenario scores, 0–100, one decimal. */
  score: number;
  pass: boolean;
  passMark: number;
  late: boolean;
  scenarios: ScenarioResult[];
  gradedAt: string;
  /** Wall seconds the grading took. */
  seconds: number;
}

const CHUNK = 60_000;
const P = "class";

/** The class data of one store file: {@linkcode ClassStore.on} the run store's connection. */
export class ClassStore {
  readonly kv: Kv;
  readonly queue: KvJobQueue;

  private constructor(kv: Kv) {
    this.kv = kv;
    this.queue = new KvJobQueue(kv);
  }

  /**
   * The class data on `kv`, the run store's connection (`RunStore.kv`: one connection per file). Closing the class
   * store leaves `kv` open.
   */
  static on(kv: Kv): ClassStore {
    return new ClassStore(kv);
  }

  /** Opens a store of its own at `path` (tests; `:memory:` for a throwaway one); {@linkcode close} closes it. */
  static async open(path: string): Promise<ClassStore> {
    const store = new ClassStore(await Deno.openKv(path));
    store.#owned = true;
    return store;
  }

  #owned = false;

  /** Closes the connection if this store opened it. */
  close(): void {
    if (this.#owned) this.kv.close();
  }

  // Students

  /**
   * Adds the roster's students that are not there yet (by name), each with a new token; returns the new students
   * with their tokens (shown once) and how many were there already.
   */
  async importRoster(
    entries: RosterEntry[],
  ): Promise<
    { added: { student: Student; token: string }[]; existing: number }
  > {
    const have = await this.listStudents();
    const byName = new Map(have.map((s) => [s.name, s]));
    const ids = new Set(have.map((s) => s.id));
    const added: { student: Student; token: string }[] = [];
    let existing = 0;
    for (const entry of entries) {
      if (byName.has(entry.name)) {
        existing++;
        continue;
      }
      let id = studentSlug(entry.name);
      for (let n = 2; ids.has(id); n++) id = `${studentSlug(entry.name)}-${n}`;
      ids.add(id);
      const token = newToken();
      const student: Student = {
        id,
        name: entry.name,
        group: entry.group,
        tokenHash: await hashToken(token),
        createdAt: new Date().toISOString(),
      };
      const result = await this.kv.atomic()
        .check({ key: [P, "student", id], versionstamp: null })
        .set([P, "student", id], student)
        .set([P, "token", student.tokenHash], id)
        .commit();
      if (!result.ok) throw new Error(`student id "${id}" taken meanwhile`);
      byName.set(entry.name, student);
      added.push({ student, token });
    }
    return { added, existing };
  }

  /** Gives a student a new token (the old one stops working); returns it, shown once. */
  async resetToken(studentId: string): Promise<string | undefined> {
    const current = await this.kv.get<Student>([P, "student", studentId]);
    if (current.value === null) return undefined;
    const token = newToken();
    const student = { ...current.value, tokenHash: await hashToken(token) };
    await this.kv.atomic().check(current)
      .delete([P, "token", current.value.tokenHash])
      .set([P, "token", student.tokenHash], studentId)
      .set(current.key, student).commit();
    return token;
  }

  /** The student a token belongs to. */
  async studentByToken(token: string): Promise<Student | undefined> {
    if (!/^ft_[A-Za-z0-9_-]{20,100}$/.test(token)) return undefined;
    const id = await this.kv.get<string>([P, "token", await hashToken(token)]);
    return id.value === null ? undefined : await this.getStudent(id.value);
  }

  async getStudent(id: string): Promise<Student | undefined> {
    return (await this.kv.get<Student>([P, "student", id])).value ??
      undefined;
  }

  async listStudents(): Promise<Student[]> {
    const students: Student[] = [];
    for await (const e of this.kv.list<Student>({ prefix: [P, "student"] })) {
      students.push(e.value);
    }
    return students.sort((a, b) => a.name.localeCompare(b.name));
  }

  // Assignments

  /** Adds or replaces an assignment; a release already made stays made. */
  async putAssignment(assignment: Assignment): Promise<Assignment> {
    const before = await this.getAssignment(assignment.id);
    const stored = {
      ...assignment,
      released: assignment.released || before?.released === true,
    };
    await this.kv.set([P, "assignment", assignment.id], stored);
    return stored;
  }

  async getAssignment(id: string): Promise<Assignment | undefined> {
    return (await this.kv.get<Assignment>([P, "assignment", id])).value ??
      undefined;
  }

  async listAssignments(): Promise<Assignment[]> {
    const all: Assignment[] = [];
    for await (
      const e of this.kv.list<Assignment>({ prefix: [P, "assignment"] })
    ) all.push(e.value);
    return all.sort((a, b) =>
      (a.due ?? "9999").localeCompare(b.due ?? "9999") ||
      a.id.localeCompare(b.id)
    );
  }

  /** Releases an assignment's hidden scenarios to its students. */
  async release(id: string): Promise<Assignment | undefined> {
    const a = await this.getAssignment(id);
    if (a === undefined) return undefined;
    const released = { ...a, released: true };
    await this.kv.set([P, "assignment", id], released);
    return released;
  }

  // Submissions

  /**
   * Stores a new submission with its files, numbered after the student's earlier ones, in one commit checked
   * against the attempt counter (two uploads at once get numbers 1 and 2, and `maxAttempts` holds).
   *
   * @throws {RangeError} when the student has used every attempt
   */
  async createSubmission(
    input: {
      student: Student;
      assignment: Assignment;
      files: SubmittedFile[];
      start: StartCommand;
      now?: Date;
    },
  ): Promise<Submission> {
    const { student, assignment, files, start } = input;
    const now = input.now ?? new Date();
    const id = `${now.getTime().toString(36).padStart(9, "0")}-${
      crypto.randomUUID().slice(0, 8)
    }`;
    const stored: StoredFile[] = files.map((f) => ({
      path: f.path,
      size: f.data.length,
      chunks: Math.max(1, Math.ceil(f.data.length / CHUNK)),
    }));
    // Files first (they are invisible until the submission refers to them), in commits of a few slices.
    let op = this.kv.atomic();
    let inOp = 0;
    for (const [i, f] of files.entries()) {
      for (let c = 0; c < stored[i]!.chunks; c++) {
        op.set(
          [P, "file", id, i, c],
          f.data.subarray(c * CHUNK, (c + 1) * CHUNK),
        );
        if (++inOp >= 8) {
          await commitOrThrow(op);
          op = this.kv.atomic();
          inOp = 0;
        }
      }
    }
    if (inOp > 0) await commitOrThrow(op);
    for (;;) {
      const counter = await this.kv.get<number>([
        P,
        "attempts",
        student.id,
        assignment.id,
      ]);
      const used = counter.value ?? 0;
      if (
        assignment.maxAttempts !== undefined && used >= assignment.maxAttempts
      ) {
        await this.#deleteFiles(id);
        throw new RangeError(
          `no attempts left: ${used} of ${assignment.maxAttempts} used for "${assignment.id}"`,
        );
      }
      const submission: Submission = {
        id,
        studentId: student.id,
        student: student.name,
        group: student.group,
        assignmentId: assignment.id,
        number: used + 1,
        createdAt: now.toISOString(),
        late: assignment.due !== undefined &&
          now.getTime() > Date.parse(assignment.due),
        start,
        files: stored,
        attempt: 1,
        status: "queued",
      };
      const result = await this.kv.atomic()
        .check(counter)
        .set(counter.key, used + 1)
        .set([P, "submission", id], submission)
        .set([P, "by_student", student.id, assignment.id, id], id)
        .set([P, "by_assignment", assignment.id, id], id)
        .commit();
      if (result.ok) return submission;
    }
  }

  async #deleteFiles(id: string): Promise<void> {
    for await (const e of this.kv.list({ prefix: [P, "file", id] })) {
      await this.kv.delete(e.key);
    }
  }

  async getSubmission(id: string): Promise<Submission | undefined> {
    return (await this.kv.get<Submission>([P, "submission", id])).value ??
      undefined;
  }

  /** Several submissions by id, read ten at a time (the store's limit), in parallel; missing ones left out. */
  async getSubmissions(ids: string[]): Promise<Map<string, Submission>> {
    const unique = [...new Set(ids)];
    const batches = [];
    for (let i = 0; i < unique.length; i += 10) {
      batches.push(
        this.kv.getMany<Submission[]>(
          unique.slice(i, i + 10).map((id) => [P, "submission", id]),
        ),
      );
    }
    const found = new Map<string, Submission>();
    for (const batch of await Promise.all(batches)) {
      for (const e of batch) {
        if (e.value !== null) found.set(e.value.id, e.value);
      }
    }
    return found;
  }

  /** Submissions, oldest first: of one student (and assignment), or of one assignment, or all. */
  async listSubmissions(
    filter: { studentId?: string; assignmentId?: string } = {},
  ): Promise<Submission[]> {
    const prefix: Deno.KvKey = filter.studentId !== undefined
      ? [
        P,
        "by_student",
        filter.studentId,
        ...(filter.assignmentId !== undefined ? [filter.assignmentId] : []),
      ]
      : filter.assignmentId !== undefined
      ? [P, "by_assignment", filter.assignmentId]
      : [P, "submission"];
    const ids: string[] = [];
    for await (const e of this.kv.list<unknown>({ prefix })) {
      ids.push(e.key.at(-1) as string);
    }
    return [...(await this.getSubmissions(ids)).values()]
      .sort((a, b) => a.id.localeCompare(b.id));
  }

  /** Changes a submission; `change` returns null to leave it as it is. */
  async updateSubmission(
    id: string,
    change: (s: Submission) => Submission | null,
  ): Promise<Submission | undefined> {
    for (;;) {
      const current = await this.kv.get<Submission>([P, "submission", id]);
      if (current.value === null) return undefined;
      const next = change(current.value);
      if (next === null) return current.value;
      const r = await this.kv.atomic().check(current).set(current.key, next)
        .commit();
      if (r.ok) return next;
    }
  }

  /** A submission's files, as uploaded. */
  async readFiles(submission: Submission): Promise<SubmittedFile[]> {
    const files: SubmittedFile[] = [];
    for (const [i, f] of submission.files.entries()) {
      const data = new Uint8Array(f.size);
      let at = 0;
      for await (
        const e of this.kv.list<Uint8Array>({
          prefix: [P, "file", submission.id, i],
        })
      ) {
        data.set(e.value, at);
        at += e.value.length;
      }
      if (at !== f.size) {
        throw new Error(
          `submission ${submission.id}: file "${f.path}" is incomplete in the store (${at} of ${f.size} bytes)`,
        );
      }
      files.push({ path: f.path, data });
    }
    return files;
  }

  // Grades

  /**
   * Stores a grade once per submission and attempt, and marks the submission graded (when that attempt is still its
   * current one). False when this attempt was graded already: nothing is written (a job graded twice is stored once).
   */
  async storeGrade(grade: SubmissionGrade): Promise<boolean> {
    for (;;) {
      const key = [P, "grade", grade.submissionId, grade.attempt];
      const existing = await this.kv.get(key);
      if (existing.value !== null) return false;
      const sub = await this.kv.get<Submission>([
        P,
        "submission",
        grade.submissionId,
      ]);
      const op = this.kv.atomic().check(existing).check(sub).set(key, grade);
      if (sub.value !== null && sub.value.attempt === grade.attempt) {
        const next: Submission = { ...sub.value, status: "graded" };
        delete next.error;
        op.set(sub.key, next);
      }
      if ((await op.commit()).ok) return true;
    }
  }

  /** The grade of one attempt, or the latest stored one. */
  async getGrade(
    submissionId: string,
    attempt?: number,
  ): Promise<SubmissionGrade | undefined> {
    if (attempt !== undefined) {
      return (await this.kv.get<SubmissionGrade>([
        P,
        "grade",
        submissionId,
        attempt,
      ])).value ?? undefined;
    }
    let latest: SubmissionGrade | undefined;
    for await (
      const e of this.kv.list<SubmissionGrade>({
        prefix: [P, "grade", submissionId],
      })
    ) latest = e.value;
    return latest;
  }

  /**
   * Every submission with the grade it shows (its current attempt's, else its latest earlier one), read in two scans
   * of the store rather than a read per submission: the console and the grade export of a whole class.
   */
  async submissionsWithGrades(): Promise<
    { submission: Submission; grade: SubmissionGrade | undefined }[]
  > {
    const grades = new Map<string, Map<number, SubmissionGrade>>();
    for await (
      const e of this.kv.list<SubmissionGrade>({ prefix: [P, "grade"] })
    ) {
      const [, , id, attempt] = e.key as [string, string, string, number];
      let mine = grades.get(id);
      if (mine === undefined) grades.set(id, mine = new Map());
      mine.set(attempt, e.value);
    }
    const all = [];
    for await (
      const e of this.kv.list<Submission>({ prefix: [P, "submission"] })
    ) {
      const s = e.value;
      const mine = grades.get(s.id);
      // Keys list in attempt order: the last one is the latest.
      const grade = mine?.get(s.attempt) ?? [...(mine?.values() ?? [])].at(-1);
      all.push({ submission: s, grade });
    }
    return all.sort((a, b) => a.submission.id.localeCompare(b.submission.id));
  }

  /** Every stored grade of a submission (one per grading attempt). */
  async listGrades(submissionId: string): Promise<SubmissionGrade[]> {
    const all: SubmissionGrade[] = [];
    for await (
      const e of this.kv.list<SubmissionGrade>({
        prefix: [P, "grade", submissionId],
      })
    ) all.push(e.value);
    return all;
  }

  // Settings

  async getSetting<T>(name: string): Promise<T | undefined> {
    return (await this.kv.get<T>([P, "setting", name])).value ?? undefined;
  }

  async setSetting(name: string, value: unknown): Promise<void> {
    await this.kv.set([P, "setting", name], value);
  }
}

async function commitOrThrow(op: KvAtomic): Promise<void> {
  const r = await op.commit();
  if (!r.ok) throw new Error("could not store a submission's files");
}

export type { StartKind };
