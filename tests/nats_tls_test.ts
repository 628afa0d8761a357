/**
 * Grading on NATS over TLS, with a worker on "another machine": Debian's `nats-server -js` with a certificate for
 * 127.0.0.1 signed by a school's own authority (made by Debian's openssl) and its users; `deno task serve --nats
 * tls://… --nats-ca ca.pem`; and one `deno task worker` started in a mount and UTS namespace of its own (`unshare`):
 * another host name, and the class folder (the server's store, roster and uploads) hidden under an empty tmpfs, so
 * that everything it grades can only have come over NATS, as on a machine of its own. Its submissions are graded and
 * the console names its host. A worker that does not trust the authority, or that speaks plain NATS to it, is
 * refused with the reason; a `--nats-ca` that is not a certificate is refused naming the flag.
 */

import assert from "node:assert/strict";
import { Child, processTree } from "./_processes.ts";
import { freePort, ignoreWithout } from "./_peers.ts";
import { certificates, OPENSSL } from "./_certificates.ts";
import {
  classFolder,
  classTeacher,
  NATS_SERVER,
  NATS_USERS,
  natsConfig,
  natsEnv,
  startNats,
  startServe,
  until,
  upload,
  workerProcess,
} from "./_class_server.ts";

const ASSIGNMENTS = "tests/fixtures/class/pool_assignment.yaml";
const CONTROLLERS = ["examples/thermostat.py", "examples/thermostat.ts"];

/** Whether this machine lets a process have its own mounts and host name (root, `unshare`). */
function namespaces(): boolean {
  try {
    return new Deno.Command("unshare", {
      args: ["--mount", "--uts", "--propagation", "private", "true"],
      stdout: "null",
      stderr: "null",
    }).outputSync().success;
  } catch {
    return false;
  }
}

interface TeacherQueue {
  waiting: unknown[];
  running: unknown[];
  failed: unknown[];
  nats: { workers: { name: string; host: string; alive: boolean }[] };
}

Deno.test({
  name:
    "NATS over TLS: a worker in its own mount and host namespace (the class folder hidden) grades over tls:// with the school's CA; without the CA, or in plain text, it is refused",
  ignore: ignoreWithout(
    NATS_SERVER !== undefined && OPENSSL && namespaces(),
    "nats-server, openssl and unshare (root)",
  ),
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const dir = await classFolder();
  // What the worker's machine holds: the authority's certificate and its credentials, outside the class folder.
  const far = await Deno.makeTempDir({ prefix: "fishtank-far-worker-" });
  const tls = await certificates(far);
  const credentials = `${far}/nats-credentials`;
  await Deno.writeTextFile(
    credentials,
    `${NATS_USERS.worker.user}\n${NATS_USERS.worker.pass}\n`,
    { mode: 0o600 },
  );
  const port = freePort();
  const natsUrl = `tls://127.0.0.1:${port}`;
  let nats: Child | undefined;
  let serve: Child | undefined;
  let farWorker: Child | undefined;
  const orphans = new Set<number>();
  try {
    nats = await startNats(
      port,
      dir,
      natsConfig(
        port,
        dir,
        `tls { cert_file: "${tls.cert}", key_file: "${tls.key}" }\n`,
      ),
    );
    const started = await startServe(dir, {
      nats: natsUrl,
      assignments: ASSIGNMENTS,
      env: natsEnv(NATS_USERS.server),
      args: ["--nats-ca", tls.ca],
    });
    serve = started.child;
    assert.match(serve.output, /grading on NATS tls:\/\/127\.0\.0\.1/);

    // Refused, each with its reason: no CA (the system's authorities do not know the school's), plain text, and a
    // --nats-ca that is not a certificate.
    const untrusting = workerProcess(["--nats", natsUrl]);
    assert.equal((await untrusting.exit(30_000)).code, 2);
    assert.match(untrusting.output, /Cannot connect to tls:\/\//);
    assert.match(untrusting.output, /certificate.*--nats-ca FILE/);
    const plain = workerProcess(["--nats", `nats://127.0.0.1:${port}`]);
    assert.equal((await plain.exit(30_000)).code, 2);
    assert.match(plain.output, /Cannot connect to nats:\/\//);
    assert.match(plain.output, /--nats-ca/);
    const notPem = workerProcess([
      "--nats",
      natsUrl,
      "--nats-ca",
      credentials,
    ]);
    assert.equal((await notPem.exit(30_000)).code, 2);
    assert.match(notPem.output, /--nats-ca: ".*" is not a PEM certificate/);

    const { url, tokens } = started;
    const students = [...tokens.values()];
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await upload(url, students[i]!, "pool", CONTROLLERS[i % 2]!);
      assert.equal(r.status, 202, `${r.text}\n${serve.output}`);
      ids.push(JSON.parse(r.text).submission.id);
    }

    // The worker "on another machine": its own host name, and the class folder is an empty tmpfs where it looks.
    farWorker = new Child("unshare", [
      "--mount",
      "--uts",
      "--propagation",
      "private",
      "sh",
      "-c",
      'hostname grader-b && mount -t tmpfs none "$0" && exec "$@"',
      dir,
      Deno.execPath(),
      "run",
      "-A",
      "cli/worker.ts",
      "--nats",
      natsUrl,
      "--nats-ca",
      tls.ca,
      "--credentials",
      credentials,
      "--name",
      "far",
    ], {
      env: {
        PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
        HOME: Deno.env.get("HOME") ?? "/root",
      },
    });
    await farWorker.waitFor(/Worker far on tls:\/\//, 60_000);

    const teacher = await classTeacher(url);
    const queue = async () =>
      await (await fetch(`${url}/api/class/teacher/queue`, {
        headers: { cookie: teacher.cookie },
      })).json() as TeacherQueue;
    const final = await until(async () => {
      const q = await queue();
      return q.waiting.length + q.running.length === 0 && q;
    }, "the queue to empty");
    assert.deepEqual(final.failed, [], "no job failed");
    const farSeen = final.nats.workers.find((w) => w.name === "far");
    assert.equal(farSeen?.host, "grader-b", JSON.stringify(final.nats.workers));

    for (const id of ids) {
      const view = await (await fetch(
        `${url}/api/class/teacher/submissions/${id}`,
        { headers: { cookie: teacher.cookie } },
      )).json();
      assert.equal(view.submission.status, "graded", JSON.stringify(view));
      assert.equal(view.grades.length, 1);
      assert.equal(view.job.worker, "far");
      assert.ok(view.grades[0].score > 0, JSON.stringify(view.grades[0]));
    }
    assert.match(farWorker.output, /graded [\d.]+ \(delivery 1\)/);
  } finally {
    for (const child of [farWorker, serve]) {
      if (child) {
        for (const pid of processTree(child.process.pid)) orphans.add(pid);
        await child.kill();
      }
    }
    await nats?.kill();
    for (const pid of orphans) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
    await Deno.remove(far, { recursive: true }).catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
