/**
 * `deno task worker`: a grading worker for a class server that grades on NATS JetStream (`deno task serve --nats`).
 * Run it on any machine that reaches the NATS server; it pulls jobs, grades them as sealed runs and sends the results
 * back. Thin: parses the arguments and runs {@linkcode NatsWorker}.
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  NATS_LIMITS,
  NATS_URL,
  natsCaFile,
  natsConnectHint,
  natsCredentials,
  NatsWorker,
} from "../server/mod.ts";

const HELP =
  `deno task worker --nats nats://HOST:4222 [options]: grade a class server's submissions from its NATS JetStream queue

  --nats URL             the NATS server the class server publishes jobs to (required): nats://HOST:4222, or
                         tls://HOST:4222 when nats-server has a certificate
  --nats-ca FILE         TLS: the PEM certificate of the authority that signed nats-server's (a school's own CA);
                         without it the system's authorities are trusted
  --slots N              jobs graded at once (default 1; one per core is the most that pays)
  --credentials FILE     the worker's NATS user and password, one per line (keep it readable by you only);
                         or set FISHTANK_NATS_USER and FISHTANK_NATS_PASSWORD
  --name NAME            how the teacher's console names this worker (default HOST-PID)
  --backoff S,S,…        seconds to wait before a job whose grading failed is tried again, by attempt; the last
                         repeats (default ${
    NATS_LIMITS.backoffMs.map((ms) => ms / 1000).join(",")
  }); after ${NATS_LIMITS.maxDeliver} deliveries the job goes to the dead letters
  --help                 this text

Each job is graded as sealed runs (as deno task serve grades them) on this machine; the runs' records and the grade go
back to the server over NATS. A worker stopped with Ctrl-C hands its jobs back; a worker that dies has its job
delivered to another after the ack wait (${
    NATS_LIMITS.ackWaitMs / 1000
  } s). Students never need NATS: only the server and the workers connect.`;

function fail(message: string): number {
  console.error(message);
  return 2;
}

/** Runs `deno task worker`; returns the exit code when it cannot start, else works until SIGINT or SIGTERM. */
export async function main(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        nats: { type: "string" },
        slots: { type: "string" },
        credentials: { type: "string" },
        "nats-ca": { type: "string" },
        name: { type: "string" },
        backoff: { type: "string" },
        help: { type: "boolean" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    return fail(`${(error as Error).message}\n\n${HELP}`);
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (values.nats === undefined || !NATS_URL.test(values.nats)) {
    return fail(
      `--nats: expected the NATS server's URL like nats://host:4222 or tls://host:4222, got ${
        values.nats === undefined ? "nothing" : `"${values.nats}"`
      }\n\n${HELP}`,
    );
  }
  const slots = Number(values.slots ?? "1");
  if (!Number.isInteger(slots) || slots < 1 || slots > 256) {
    return fail(
      `--slots: expected a whole number 1–256, got "${values.slots}"`,
    );
  }
  let backoffMs: number[] | undefined;
  if (values.backoff !== undefined) {
    backoffMs = values.backoff.split(",").map((s) => Number(s.trim()) * 1000);
    if (
      backoffMs.some((ms) => !Number.isFinite(ms) || ms < 0 || ms > 3_600_000)
    ) {
      return fail(
        `--backoff: expected seconds 0–3600 separated by commas like 2,10,30,60, got "${values.backoff}"`,
      );
    }
  }
  let credentials;
  let caFile;
  try {
    credentials = await natsCredentials(values.credentials);
    if (values["nats-ca"] !== undefined) {
      caFile = await natsCaFile(values["nats-ca"], "--nats-ca");
    }
  } catch (error) {
    return fail((error as Error).message);
  }
  let worker: NatsWorker;
  try {
    worker = await NatsWorker.start(values.nats, {
      slots,
      credentials,
      caFile,
      ...(values.name ? { name: values.name } : {}),
      ...(backoffMs ? { backoffMs } : {}),
      nodeRed: {
        runner: new URL("../examples/node-red/run.sh", import.meta.url)
          .pathname,
        ...(Deno.env.get("FISHTANK_NODE_RED_DIR")
          ? { dir: Deno.env.get("FISHTANK_NODE_RED_DIR")! }
          : {}),
      },
      onJobEnd: (job, outcome) => console.log(`job ${job}: ${outcome}`),
    });
  } catch (error) {
    return fail(
      `Cannot connect to ${values.nats}: ${(error as Error).message} (${
        natsConnectHint(error)
      })`,
    );
  }
  console.log(
    `Worker ${worker.name} on ${values.nats}: ${slots} slot${
      slots === 1 ? "" : "s"
    }. Ctrl-C to stop.`,
  );
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    console.log("Stopping: jobs in hand go back to the queue.");
    worker.close().finally(() => Deno.exit(0));
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  return await new Promise<number>(() => {});
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
