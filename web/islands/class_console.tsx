/// <reference lib="dom" />
/**
 * The teacher console, live: the grading queue (waiting, running with progress, failed) with cancel and re-grade,
 * each assignment's class leaderboard with re-grade, release and the CSV export, the latest submissions and the
 * roster. It asks `/class/teacher/console.json` again a moment after each answer, so it follows the class without a
 * reload and never piles up requests on a busy server.
 *
 * @module
 */

import { useEffect, useState } from "preact/hooks";
import { hydrateIslands } from "./_hydrate.ts";
import { ActionButton } from "./class_actions.tsx";

/** A job as the console shows it. */
export interface ConsoleJob {
  id: string;
  submissionId: string;
  student: string | null;
  assignment: string | null;
  enqueuedAt: number;
  startedAt?: number;
  claims: number;
  error?: string;
  progress?: {
    scenario: number;
    scenarios: number;
    label: string;
    t: number;
    duration: number;
    stepsPerSecond: number;
  };
}

/** One student's line on an assignment's leaderboard. */
export interface ConsoleRank {
  studentId: string;
  student: string;
  group: string;
  attempts: number;
  best: number | null;
  bestPass: boolean | null;
  bestSubmission: string | null;
  latest: number | null;
  late: boolean;
}

/** One submission in the console's latest list. */
export interface ConsoleSubmission {
  id: string;
  studentId: string;
  student: string;
  assignment: string;
  number: number;
  createdAt: string;
  status: string;
  score: number | null;
  pass: boolean | null;
  late: boolean;
}

/** Everything the console shows. */
export interface ConsoleData {
  workers: number;
  waiting: ConsoleJob[];
  running: ConsoleJob[];
  failed: ConsoleJob[];
  assignments: {
    id: string;
    title: string;
    passMark: number;
    hidden: number;
    released: boolean;
    due: string | null;
    board: ConsoleRank[];
  }[];
  latest: ConsoleSubmission[];
  students: { id: string; name: string; group: string }[];
  /** When the server made it (ISO). */
  at: string;
}

/** Props of {@linkcode ClassConsole}. */
export interface ClassConsoleProps {
  data: ConsoleData;
  csrf: string;
  /** Pause between refreshes, ms. */
  refreshMs: number;
}

const enc = encodeURIComponent;

function mmss(seconds: number): string {
  const m = Math.floor(seconds / 60);
  return `${m}:${String(Math.round(seconds % 60)).padStart(2, "0")}`;
}

function Who({ job }: { job: ConsoleJob }) {
  return (
    <>
      <td>{job.student ?? "?"}</td>
      <td>{job.assignment ?? "?"}</td>
      <td>
        <a href={`/class/teacher/submissions/${enc(job.submissionId)}`}>
          {job.submissionId}
        </a>
      </td>
    </>
  );
}

/** A running job's progress: scenario, simulated time and steps per second. */
function progressText(job: ConsoleJob): string {
  const p = job.progress;
  if (!p) return "starting";
  return `${p.scenario + 1}/${p.scenarios} ${p.label} · ${
    p.t === 0 && p.stepsPerSecond === 0
      ? "starting"
      : `${mmss(p.t)} of ${mmss(p.duration)} · ${
        Math.round(p.stepsPerSecond)
      } steps/s`
  }`;
}

/** One of the queue's tables under its heading, or "None." when it has no jobs. */
function JobTable(
  { title, field, jobs, headings, row }: {
    title: string;
    field: string;
    jobs: ConsoleJob[];
    headings: string[];
    row: (job: ConsoleJob, i: number) => preact.JSX.Element;
  },
) {
  return (
    <>
      <h3>{title}</h3>
      {jobs.length === 0
        ? <p class="muted">None.</p>
        : (
          <div class="table-scroll">
            <table data-field={field}>
              <thead>
                <tr>
                  {headings.map((h, i) => <th key={i}>{h}</th>)}
                </tr>
              </thead>
              <tbody>
                {jobs.map((job, i) => (
                  <tr key={job.id} data-job={job.id}>{row(job, i)}</tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
    </>
  );
}

function Queue(
  { data, csrf, refresh }: {
    data: ConsoleData;
    csrf: string;
    refresh: () => void;
  },
) {
  const cancel = (job: ConsoleJob) => (
    <ActionButton
      action={{
        label: "Cancel",
        url: `/api/class/teacher/jobs/${enc(job.id)}/cancel`,
      }}
      csrf={csrf}
      onDone={refresh}
    />
  );
  return (
    <section data-field="queue">
      <h2>Queue</h2>
      <p class="muted">
        {data.workers} worker{data.workers === 1 ? "" : "s"} ·{" "}
        <span data-field="waiting-count">{data.waiting.length}</span> waiting ·
        {" "}
        <span data-field="running-count">{data.running.length}</span> running ·
        {" "}
        {data.failed.length} failed
      </p>
      <JobTable
        title="Running"
        field="running"
        jobs={data.running}
        headings={["Student", "Assignment", "Submission", "Progress", ""]}
        row={(job) => (
          <>
            <Who job={job} />
            <td data-field="job-progress">
              {progressText(job)}
              {job.claims > 1 ? ` (claim ${job.claims})` : ""}
            </td>
            <td>{cancel(job)}</td>
          </>
        )}
      />
      <JobTable
        title="Waiting"
        field="waiting"
        jobs={data.waiting}
        headings={["#", "Student", "Assignment", "Submission", "Since", ""]}
        row={(job, i) => (
          <>
            <td>{i + 1}</td>
            <Who job={job} />
            <td>{new Date(job.enqueuedAt).toISOString().slice(11, 19)}</td>
            <td>{cancel(job)}</td>
          </>
        )}
      />
      <JobTable
        title="Failed"
        field="failed"
        jobs={data.failed}
        headings={["Student", "Assignment", "Submission", "Error", ""]}
        row={(job) => (
          <>
            <Who job={job} />
            <td class="error">{job.error ?? ""}</td>
            <td>
              <ActionButton
                action={{
                  label: "Re-grade",
                  url: `/api/class/teacher/submissions/${
                    enc(job.submissionId)
                  }/regrade`,
                }}
                csrf={csrf}
                onDone={refresh}
              />
            </td>
          </>
        )}
      />
    </section>
  );
}

function Boards(
  { data, csrf, refresh }: {
    data: ConsoleData;
    csrf: string;
    refresh: () => void;
  },
) {
  return (
    <section data-field="leaderboards">
      {data.assignments.map((a) => (
        <div data-assignment={a.id}>
          <h2>Leaderboard: {a.title}</h2>
          <p class="muted">
            <code>{a.id}</code> · pass mark {a.passMark}
            {a.hidden > 0
              ? ` · ${a.hidden} hidden scenario${a.hidden === 1 ? "" : "s"}, ${
                a.released ? "released" : "not released"
              }`
              : ""} ·{" "}
            <a
              href={`/api/class/teacher/assignments/${enc(a.id)}/grades.csv`}
              data-field="csv"
            >
              grades CSV
            </a>
          </p>
          <p>
            <ActionButton
              action={{
                label: "Re-grade all",
                url: `/api/class/teacher/assignments/${enc(a.id)}/regrade`,
                confirm:
                  `Grade every submission of "${a.title}" again (a new attempt each)?`,
              }}
              csrf={csrf}
              onDone={refresh}
            />{" "}
            {a.hidden > 0 && !a.released && (
              <ActionButton
                action={{
                  label: "Release hidden scenarios",
                  url: `/api/class/teacher/assignments/${enc(a.id)}/release`,
                  confirm:
                    `Show the students of "${a.title}" the hidden scenarios' names, cards and runs?`,
                }}
                csrf={csrf}
                onDone={refresh}
              />
            )}
          </p>
          <div class="table-scroll">
            <table data-field="board">
              <thead>
                <tr>
                  <th>Rank</th>
                  <th>Student</th>
                  <th>Group</th>
                  <th>Best</th>
                  <th>Latest</th>
                  <th>Attempts</th>
                </tr>
              </thead>
              <tbody>
                {a.board.map((r, i) => (
                  <tr data-student={r.student}>
                    <td>{r.best === null ? "–" : i + 1}</td>
                    <td>
                      <a href={`/class/teacher/students/${enc(r.studentId)}`}>
                        {r.student}
                      </a>
                    </td>
                    <td>{r.group}</td>
                    <td data-field="best">
                      {r.best === null ? "–" : (
                        <>
                          <a
                            href={`/class/teacher/submissions/${
                              enc(r.bestSubmission ?? "")
                            }`}
                          >
                            {r.best.toFixed(1)}
                          </a>{" "}
                          <span class={r.bestPass ? "pass" : "fail"}>
                            {r.bestPass ? "✓ pass" : "✗ fail"}
                          </span>
                        </>
                      )}
                    </td>
                    <td>{r.latest === null ? "–" : r.latest.toFixed(1)}</td>
                    <td>
                      {r.attempts}
                      {r.late ? " (late)" : ""}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
      ))}
    </section>
  );
}

/** The whole console. */
export default function ClassConsole(props: ClassConsoleProps) {
  const [data, setData] = useState(props.data);
  const [problem, setProblem] = useState<string | undefined>();
  const [tick, setTick] = useState(0);

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = async () => {
      try {
        const response = await fetch("/class/teacher/console.json");
        if (response.ok) {
          setData(await response.json());
          setProblem(undefined);
        } else {
          setProblem(
            response.status === 401
              ? "logged out: log in again at /login"
              : `the server answered ${response.status}`,
          );
        }
      } catch (error) {
        setProblem(String(error));
      }
      if (!stopped) timer = setTimeout(load, props.refreshMs);
    };
    timer = setTimeout(load, props.refreshMs);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [tick]);
  const refresh = () => setTick((n) => n + 1);

  return (
    <div data-field="console" data-at={data.at}>
      {problem && <p class="error" role="alert">Not live: {problem}</p>}
      <Queue data={data} csrf={props.csrf} refresh={refresh} />
      <Boards data={data} csrf={props.csrf} refresh={refresh} />
      <section data-field="latest">
        <h2>Latest submissions</h2>
        {data.latest.length === 0
          ? <p class="muted">None yet.</p>
          : (
            <div class="table-scroll">
              <table>
                <thead>
                  <tr>
                    <th>Submission</th>
                    <th>Student</th>
                    <th>Assignment</th>
                    <th>When</th>
                    <th>Status</th>
                    <th>Score</th>
                  </tr>
                </thead>
                <tbody>
                  {data.latest.map((s) => (
                    <tr data-submission={s.id}>
                      <td>
                        <a href={`/class/teacher/submissions/${enc(s.id)}`}>
                          {s.id}
                        </a>
                      </td>
                      <td>
                        <a href={`/class/teacher/students/${enc(s.studentId)}`}>
                          {s.student}
                        </a>
                      </td>
                      <td>{s.assignment} #{s.number}</td>
                      <td>
                        {s.createdAt.slice(0, 16).replace("T", " ")}
                        {s.late ? " (late)" : ""}
                      </td>
                      <td data-field="status">{s.status}</td>
                      <td>
                        {s.score === null ? "–" : (
                          <>
                            {s.score.toFixed(1)}{" "}
                            <span class={s.pass ? "pass" : "fail"}>
                              {s.pass ? "✓ pass" : "✗ fail"}
                            </span>
                          </>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
      </section>
      <section data-field="students">
        <h2>Students</h2>
        <p>
          {data.students.map((s, i) => (
            <>
              {i > 0 ? " · " : ""}
              <a href={`/class/teacher/students/${enc(s.id)}`}>{s.name}</a>
              {s.group ? <span class="muted">{` (${s.group})`}</span> : ""}
            </>
          ))}
        </p>
      </section>
    </div>
  );
}

if (typeof document !== "undefined") {
  hydrateIslands("class_console", ClassConsole);
}
