/// <reference lib="dom" />
/**
 * A submission's status as its student sees it, kept live by the class API's status stream
 * (`GET /api/class/submissions/:id/events`): queued (position, estimate) → running (scenario, simulated time,
 * steps/s) → graded (the score card per scenario with partial credit; hidden scenarios as "hidden case N: score"
 * until the teacher releases them). Renders only the student view the API sends, so it can show nothing hidden.
 *
 * @module
 */

import { useEffect, useState } from "preact/hooks";
import type { StudentSubmissionView } from "../../server/mod.ts";
import { hydrateIslands } from "./_hydrate.ts";

/** Props of {@linkcode ClassStatus}. */
export interface ClassStatusProps {
  view: StudentSubmissionView;
  /** Whether the run links go to the report and replay pages (off where those pages need the teacher's login). */
  runLinks: boolean;
}

const ENDED = new Set(["graded", "failed", "cancelled"]);

const STATUS_WORDS: Record<StudentSubmissionView["status"], string> = {
  queued: "Queued",
  running: "Running",
  graded: "Graded",
  failed: "Not graded (harness error)",
  cancelled: "Cancelled",
};

function minutes(seconds: number): string {
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds % 60);
  return m > 0 ? `${m} min ${String(s).padStart(2, "0")} s` : `${s} s`;
}

function Progress({ view }: { view: StudentSubmissionView }) {
  if (view.status === "queued") {
    return (
      <p data-field="queue">
        {view.queue
          ? (
            <>
              Position <strong>{view.queue.position}</strong>{" "}
              in the queue; about {view.queue.estimateSeconds === null
                ? "– (no estimate before the first grade)"
                : minutes(view.queue.estimateSeconds)} to wait.
            </>
          )
          : "Waiting for a worker."}
      </p>
    );
  }
  if (view.status === "running") {
    const p = view.progress;
    if (!p) return <p data-field="progress">Starting the first scenario…</p>;
    const share = p.duration > 0 ? Math.min(1, p.t / p.duration) : 0;
    return (
      <div data-field="progress">
        <p>
          Scenario {p.scenario} of {p.scenarios}:{" "}
          <strong data-field="progress-label">{p.label}</strong>; simulated time
          {" "}
          <span data-field="sim-time">{minutes(p.t)}</span> of{" "}
          {minutes(p.duration)};{" "}
          <span data-field="steps">{Math.round(p.stepsPerSecond)}</span> steps/s
        </p>
        <div
          class="class-bar"
          role="progressbar"
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={Math.round(share * 100)}
          aria-label="this scenario's simulated time"
        >
          <span style={`width:${(share * 100).toFixed(1)}%`} />
        </div>
      </div>
    );
  }
  return null;
}

function ScoreCard(
  { grade, runLinks }: {
    grade: NonNullable<StudentSubmissionView["grade"]>;
    runLinks: boolean;
  },
) {
  return (
    <section data-field="score-card">
      <p>
        <span class="class-score" data-field="score">
          {grade.score.toFixed(1)}
        </span>{" "}
        / 100{" "}
        <span class={grade.pass ? "pass" : "fail"} data-field="pass">
          {grade.pass ? "✓ pass" : "✗ fail"}
        </span>{" "}
        <span class="muted">
          (pass mark {grade.passMark}
          {grade.late ? "; submitted after the due date" : ""})
        </span>
      </p>
      <div class="table-scroll">
        <table class="class-card-table">
          <thead>
            <tr>
              <th>Case</th>
              <th>Scenario</th>
              <th>Weight</th>
              <th>Score</th>
              <th>Details</th>
            </tr>
          </thead>
          <tbody>
            {grade.scenarios.map((s) =>
              s.hidden
                ? (
                  <tr data-case={s.case} data-hidden="true">
                    <td>{s.case}</td>
                    <td>{s.label}</td>
                    <td>{s.weight}</td>
                    <td>
                      <strong>{s.score.toFixed(1)}</strong>
                    </td>
                    <td class="muted">
                      a hidden case: its details show once your teacher releases
                      it
                    </td>
                  </tr>
                )
                : (
                  <tr data-case={s.case} data-hidden="false">
                    <td>{s.case}</td>
                    <td>
                      {s.title} <span class="muted">({s.scenario})</span>
                    </td>
                    <td>{s.weight}</td>
                    <td>
                      <strong>{s.score.toFixed(1)}</strong>{" "}
                      <span class={s.pass ? "pass" : "fail"}>
                        {s.pass ? "✓ pass" : "✗ fail"}
                      </span>
                    </td>
                    <td>
                      {s.outcomeMessage && <p>{s.outcomeMessage}</p>}
                      <ul>
                        {s.components.map((c) => (
                          <li>
                            {c.name}: {(c.score * 100).toFixed(1)}{" "}
                            <span class="muted">(weight {c.weight})</span>
                          </li>
                        ))}
                      </ul>
                      {s.advice.length > 0 && (
                        <ul class="muted">
                          {s.advice.map((a) => <li key={a}>{a}</li>)}
                        </ul>
                      )}
                      {runLinks && (
                        <p>
                          <a
                            href={`/runs/${encodeURIComponent(s.runId)}`}
                            data-field="report-link"
                          >
                            report
                          </a>
                          {" · "}
                          <a
                            href={`/runs/${encodeURIComponent(s.runId)}/replay`}
                            data-field="replay-link"
                          >
                            replay
                          </a>
                        </p>
                      )}
                    </td>
                  </tr>
                )
            )}
          </tbody>
        </table>
      </div>
    </section>
  );
}

/** The live status and score card of one submission. */
export default function ClassStatus(props: ClassStatusProps) {
  const [view, setView] = useState(props.view);
  const [connection, setConnection] = useState<"live" | "ended" | "lost">(
    ENDED.has(props.view.status) ? "ended" : "live",
  );

  useEffect(() => {
    if (ENDED.has(props.view.status)) return;
    const source = new EventSource(
      `/api/class/submissions/${encodeURIComponent(props.view.id)}/events`,
    );
    let ended = false;
    source.addEventListener("status", (event) => {
      const next = JSON.parse(
        (event as MessageEvent).data,
      ) as StudentSubmissionView;
      setView(next);
      ended = ENDED.has(next.status);
      setConnection(ended ? "ended" : "live");
    });
    source.onerror = () => {
      // The server ends the stream after the last status; closing now keeps EventSource from reconnecting.
      if (ended) source.close();
      else if (source.readyState === EventSource.CLOSED) setConnection("lost");
    };
    return () => source.close();
  }, []);

  return (
    <div data-field="submission" data-status={view.status}>
      <p>
        <span class="class-status" data-field="status">
          {STATUS_WORDS[view.status]}
        </span>{" "}
        <span class="muted" data-field="connection">
          {connection === "live"
            ? "(updates live)"
            : connection === "lost"
            ? "(lost the live updates: reload the page)"
            : ""}
        </span>
      </p>
      <Progress view={view} />
      {view.error && (
        <p class="error" role="alert" data-field="error">{view.error}</p>
      )}
      {view.grade && (
        <>
          {view.status !== "graded" && (
            <p class="muted">
              The last grade, while this submission is graded again:
            </p>
          )}
          <ScoreCard grade={view.grade} runLinks={props.runLinks} />
        </>
      )}
    </div>
  );
}

if (typeof document !== "undefined") {
  hydrateIslands("class_status", ClassStatus);
}
