/**
 * `deno task submit`: uploads a controller to the class server, follows its status (queued → running → graded) and
 * prints the score card. Exit codes as `deno task grade`'s: 0 when the submission passes, 1 when it fails the pass
 * mark, 2 for a usage, server or harness error (grading failed or cancelled, no attempts left, unknown token).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { basename } from "node:path";
import type { StudentSubmissionView } from "../server/mod.ts";
import { formatDuration } from "../lib/mod.ts";

const HELP =
  `deno task submit --server URL --token TOKEN --assignment ID FILE: submit a controller to the class server

  FILE                 your controller: a .py file (python3 FILE), a .ts/.js file, a Node-RED flow (.json),
                       or a .zip of a folder (then say which file starts it with --entry)
  --server URL         the class server, e.g. http://10.0.0.5:8000
  --token TOKEN        your token from the teacher; or set FISHTANK_TOKEN (better in CI: a secret, not on
                       the command line), or --token-file PATH
  --assignment ID      the assignment (deno task submit --list shows yours)
  --kind K             python3, deno or node-red (default: from the file name)
  --entry PATH         the file in the zip that starts your controller
  --list               list your assignments and exit
  --no-wait            submit and exit 0 without waiting for the grade
  --help               this text

Exit code: 0 pass, 1 fail, 2 error (as deno task grade).`;

function usage(message: string): number {
  console.error(`${message}\n\n${HELP}`);
  return 2;
}

function scoreCard(view: StudentSubmissionView): string {
  const g = view.grade!;
  const lines = [
    `${view.assignment} · submission ${view.number} (${view.id})${
      g.late ? " · LATE" : ""
    }`,
    `${g.score.toFixed(1)} / 100  ${
      g.pass ? "PASS" : "FAIL"
    }  (pass mark ${g.passMark})`,
  ];
  for (const s of g.scenarios) {
    if (s.hidden) {
      lines.push(
        `  ${s.label.padEnd(28)} ${
          s.score.toFixed(1).padStart(5)
        }  (weight ${s.weight})`,
      );
    } else {
      lines.push(
        `  ${`${s.title} (${s.scenario})`.padEnd(28)} ${
          s.score.toFixed(1).padStart(5)
        }  ${s.pass ? "pass" : "FAIL"}  (weight ${s.weight}${
          s.outcome === "completed" ? "" : `, ${s.outcome}`
        })`,
      );
      for (const advice of s.advice.slice(0, 3)) {
        lines.push(`      • ${advice}`);
      }
    }
  }
  return lines.join("\n");
}

function describe(view: StudentSubmissionView): string {
  switch (view.status) {
    case "queued":
      return view.queue
        ? `queued: position ${view.queue.position}${
          view.queue.estimateSeconds === null
            ? ""
            : `, graded in about ${formatDuration(view.queue.estimateSeconds)}`
        }`
        : "queued";
    case "running": {
      const p = view.progress;
      return p
        ? `running: scenario ${p.scenario}/${p.scenarios} ${p.label}: ${
          formatDuration(p.t)
        } of ${
          formatDuration(p.duration)
        } simulated, ${p.stepsPerSecond} steps/s`
        : "running";
    }
    default:
      return view.status;
  }
}

/** Reads `status` events from an SSE response until it ends; calls `on` with each. */
async function readEvents(
  response: Response,
  on: (view: StudentSubmissionView) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of response.body!) {
    buffer += decoder.decode(chunk, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      const data: string[] = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) {
          data.push(line.slice(5).replace(/^ /, ""));
        }
      }
      if (event === "status" && data.length > 0) {
        on(JSON.parse(data.join("\n")));
      }
    }
  }
}

const DONE = new Set(["graded", "failed", "cancelled"]);

/** Runs `deno task submit`; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  let values, positionals;
  try {
    ({ values, positionals } = parseArgs({
      args,
      options: {
        server: { type: "string" },
        token: { type: "string" },
        "token-file": { type: "string" },
        assignment: { type: "string" },
        kind: { type: "string" },
        entry: { type: "string" },
        list: { type: "boolean" },
        "no-wait": { type: "boolean" },
        help: { type: "boolean" },
      },
      strict: true,
      allowPositionals: true,
    }));
  } catch (error) {
    return usage((error as Error).message);
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  let token = values.token ?? Deno.env.get("FISHTANK_TOKEN");
  if (values["token-file"] !== undefined) {
    try {
      token = (await Deno.readTextFile(values["token-file"])).split(/\r?\n/)[0]!
        .trim();
    } catch (error) {
      return usage(`--token-file: ${(error as Error).message}`);
    }
  }
  if (!values.server) return usage("--server URL is needed");
  if (!token) {
    return usage("--token (or FISHTANK_TOKEN, or --token-file) is needed");
  }
  const base = values.server.replace(/\/+$/, "");
  const headers = { authorization: `Bearer ${token}` };
  const call = async (path: string, init: RequestInit = {}) => {
    const response = await fetch(`${base}${path}`, {
      ...init,
      headers: { ...headers, ...(init.headers ?? {}) },
    });
    return response;
  };
  try {
    if (values.list) {
      const r = await call("/api/class/assignments");
      const body = await r.json();
      if (!r.ok) {
        console.error(`server: ${body.error ?? r.statusText}`);
        return 2;
      }
      for (const a of body.assignments) {
        console.log(
          `${a.id}: ${a.title} (pass mark ${a.passMark}${
            a.due ? `, due ${a.due}` : ""
          }; ${a.attemptsUsed}${
            a.maxAttempts ? `/${a.maxAttempts}` : ""
          } attempts used${a.best !== null ? `, best ${a.best}` : ""})`,
        );
      }
      return 0;
    }
    if (!values.assignment) return usage("--assignment ID is needed");
    if (positionals.length !== 1) return usage("give one FILE to submit");
    const path = positionals[0]!;
    let bytes;
    try {
      bytes = await Deno.readFile(path);
    } catch (error) {
      return usage(`cannot read "${path}": ${(error as Error).message}`);
    }
    const form = new FormData();
    form.set("assignment", values.assignment);
    form.set("file", new File([bytes], basename(path)));
    if (values.kind) form.set("kind", values.kind);
    if (values.entry) form.set("entry", values.entry);
    const r = await call("/api/class/submissions", {
      method: "POST",
      body: form,
    });
    const body = await r.json().catch(() => ({}));
    if (!r.ok) {
      console.error(
        `server refused the submission (${r.status}): ${
          body.error ?? r.statusText
        }`,
      );
      return 2;
    }
    let view: StudentSubmissionView = body.submission;
    console.log(
      `Submitted ${
        basename(path)
      } to ${values.assignment}: submission ${view.number} (${view.id})${
        view.late ? ", late" : ""
      }`,
    );
    if (values["no-wait"]) return 0;
    let lastKey = "";
    let lastLine = "";
    let lastAt = 0;
    const show = (v: StudentSubmissionView) => {
      view = v;
      if (DONE.has(v.status)) return;
      const line = describe(v);
      const key = `${v.status}:${v.progress?.scenario}:${v.queue?.position}`;
      const now = performance.now();
      // A line per change of state, scenario or place in the queue; while a scenario runs, at most one a second.
      if (line !== lastLine && (key !== lastKey || now - lastAt >= 1000)) {
        console.log(`  ${line}`);
        lastKey = key;
        lastLine = line;
        lastAt = now;
      }
    };
    show(view);
    for (let tries = 0; !DONE.has(view.status) && tries < 1000; tries++) {
      try {
        const events = await call(`/api/class/submissions/${view.id}/events`, {
          headers: { accept: "text/event-stream" },
        });
        if (!events.ok) throw new Error(`status stream: HTTP ${events.status}`);
        await readEvents(events, show);
      } catch (error) {
        // The connection dropped (a server restart): look again in a moment.
        console.error(`  (${(error as Error).message}; trying again)`);
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
    if (view.status !== "graded" || !view.grade) {
      console.error(`grading ${view.status}: ${view.error ?? "no grade"}`);
      return 2;
    }
    console.log("\n" + scoreCard(view));
    return view.grade.pass ? 0 : 1;
  } catch (error) {
    console.error(
      `cannot reach the class server at ${base}: ${(error as Error).message}`,
    );
    return 2;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
