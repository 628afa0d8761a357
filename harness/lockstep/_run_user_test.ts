import assert from "node:assert/strict";
import { join } from "node:path";
import {
  allocateRunUser,
  processesOf,
  releaseRunUser,
  runUsersAvailable,
  sweepRunFolders,
} from "./_run_user.ts";

const ignore = !runUsersAvailable();

Deno.test({
  name:
    "sweepRunFolders removes a run's folder left by a killed grader, keeps a fresh one and one whose user still runs",
  ignore,
  async fn() {
    const tmp = Deno.makeTempDirSync({ prefix: "sweep-" });
    try {
      const [stale, fresh, busy] = [0, 1, 2].map(() => allocateRunUser(tmp)!);
      const sleeper = new Deno.Command("setpriv", {
        args: [
          `--reuid=${busy!.uid}`,
          `--regid=${busy!.uid}`,
          "--clear-groups",
          "--",
          "sleep",
          "60",
        ],
      }).spawn();
      try {
        while (processesOf(busy!.uid).length === 0) {
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        // Two minutes on: the stale and busy folders are old, the fresh one was touched just now.
        const later = Date.now() + 120_000;
        Deno.utimeSync(fresh!.home, later / 1000, later / 1000);
        const removed = sweepRunFolders(tmp, later);
        assert.deepEqual(removed, [stale!.home]);
        assert.ok(Deno.statSync(fresh!.home).isDirectory);
        assert.ok(Deno.statSync(busy!.home).isDirectory);
        // A folder of that name not owned by its uid is not a run's: left alone.
        const other = join(tmp, `fishtank-run-${stale!.uid}`);
        Deno.mkdirSync(other);
        assert.deepEqual(
          sweepRunFolders(tmp, later + 120_000).includes(other),
          false,
        );
      } finally {
        sleeper.kill("SIGKILL");
        await sleeper.status;
        await releaseRunUser(busy!);
        await releaseRunUser(fresh!);
      }
    } finally {
      Deno.removeSync(tmp, { recursive: true });
    }
  },
});
