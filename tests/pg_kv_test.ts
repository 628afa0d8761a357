/**
 * The store's PostgreSQL backend (`PgKv`) against Deno KV itself, with a real PostgreSQL server (Debian's
 * `postgresql`): the same operations on both give the same answers (values, list order and bounds, reverse,
 * limits and cursors, checks that fail, expiry); commits
 * from two connections at once keep a counter exact; `deno task grade --db postgres://…` stores a run there and
 * `--rescore` grades it again to the same score; `deno task serve --db postgres://…` grades submissions and keeps
 * them, and a student's session, across a restart.
 */

import assert from "node:assert/strict";
import { type Kv, PgKv, RunStore } from "../store/mod.ts";
import { ignoreWithout } from "./_peers.ts";
import { PG_BIN, type PgServer, startPostgres } from "./_postgres.ts";
import {
  classFolder,
  type ServeProcess,
  startServe,
  studentView,
  until,
  upload,
} from "./_class_server.ts";

const PYTHON = "/usr/bin/python3";
const SCENARIO = "tests/fixtures/scenarios/cool-half-hour.yaml";
const ASSIGNMENTS = "tests/fixtures/class/pool_assignment.yaml";

const ignore = ignoreWithout(PG_BIN !== undefined, "postgresql");

/** Runs `script` on both stores and returns what each gave. */
async function both<T>(
  deno: Kv,
  pg: Kv,
  script: (kv: Kv) => Promise<T>,
): Promise<[T, T]> {
  return [await script(deno), await script(pg)];
}

async function listed(
  kv: Kv,
  selector: Deno.KvListSelector,
  options: Deno.KvListOptions = {},
): Promise<[Deno.KvKey, unknown][]> {
  const out: [Deno.KvKey, unknown][] = [];
  for await (const e of kv.list(selector, options)) out.push([e.key, e.value]);
  return out;
}

Deno.test({
  name:
    "PgKv answers as Deno KV: get, getMany, set, delete, list (prefix, start, end, reverse, limit, cursor), checks, expiry; commits at once stay exact; the grader and the class server run on it",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
}, async (t) => {
  let server: PgServer | undefined;
  const dir = await Deno.makeTempDir({ prefix: "pg-kv-test-" });
  const deno = await Deno.openKv(`${dir}/same.kv`);
  let pg: PgKv | undefined;
  try {
    server = await startPostgres();
    const sameUrl = await server.database("same");
    pg = await PgKv.connect(sameUrl);

    await t.step("the same writes read back the same", async () => {
      const [a, b] = await both(deno, pg!, async (kv) => {
        await kv.set(["run", "r1"], { id: "r1", n: 1, when: new Date(0) });
        await kv.set(["run", "r2"], new Uint8Array([0, 1, 2]));
        await kv.set(["page", "r1", 0], "zero");
        await kv.set(["page", "r1", 1], "one");
        await kv.set(["page", "r1", 10], "ten");
        await kv.set(["page", "r1", -1.5], "minus");
        await kv.set(["page", "r2", 0], "other run");
        await kv.set(["flag", true], "t");
        await kv.set(["flag", false], "f");
        await kv.delete(["run", "r2"]);
        const got = await kv.get(["run", "r1"]);
        const many = await kv.getMany([["run", "r1"], ["run", "r2"], [
          "page",
          "r1",
          1,
        ]]);
        return {
          got: got.value,
          many: many.map((e) => e.value),
          stamps: many.map((e) => e.versionstamp === null),
          prefix: await listed(kv, { prefix: ["page", "r1"] }),
          reverse: await listed(kv, { prefix: ["page", "r1"] }, {
            reverse: true,
            limit: 2,
          }),
          start: await listed(kv, {
            prefix: ["page", "r1"],
            start: ["page", "r1", 1],
          }),
          end: await listed(kv, {
            prefix: ["page", "r1"],
            end: ["page", "r1", 10],
          }),
          range: await listed(kv, {
            start: ["page", "r1", 0],
            end: ["page", "r2"],
          }),
          flags: await listed(kv, { prefix: ["flag"] }),
          all: (await listed(kv, { prefix: [] })).length,
        };
      });
      assert.deepEqual(b, a);
      assert.deepEqual(a.prefix.map(([k]) => k[2]), [-1.5, 0, 1, 10]);
    });

    await t.step("a cursor continues a listing where it stopped", async () => {
      const [a, b] = await both(deno, pg!, async (kv) => {
        const first = kv.list({ prefix: ["page", "r1"] }, {
          limit: 2,
        }) as Deno.KvListIterator<unknown>;
        const seen: unknown[] = [];
        for await (const e of first) seen.push(e.value);
        for await (
          const e of kv.list({ prefix: ["page", "r1"] }, {
            cursor: first.cursor,
          })
        ) seen.push(e.value);
        return seen;
      });
      assert.deepEqual(b, a);
      assert.equal(a.length, 4);
    });

    await t.step(
      "checks: a stale versionstamp or an entry that appeared fails the commit; nothing of it is written",
      async () => {
        const [a, b] = await both(deno, pg!, async (kv) => {
          const before = await kv.get(["run", "r1"]);
          await kv.set(["run", "r1"], { id: "r1", n: 2 });
          const stale = await kv.atomic().check(before).set(["x"], 1).commit();
          const absent = await kv.atomic().check({
            key: ["run", "r1"],
            versionstamp: null,
          }).set(["y"], 1).commit();
          const fresh = await kv.get(["run", "r1"]);
          const good = await kv.atomic().check(fresh).check({
            key: ["new"],
            versionstamp: null,
          }).set(["new"], 1).delete(["page", "r2", 0]).commit();
          return {
            stale: stale.ok,
            absent: absent.ok,
            good: good.ok,
            x: (await kv.get(["x"])).value,
            y: (await kv.get(["y"])).value,
            gone: (await kv.get(["page", "r2", 0])).value,
            newer: good.ok && "versionstamp" in good &&
              good.versionstamp > fresh.versionstamp!,
          };
        });
        assert.deepEqual(b, a);
        assert.deepEqual(a, {
          stale: false,
          absent: false,
          good: true,
          x: null,
          y: null,
          gone: null,
          newer: true,
        });
      },
    );

    await t.step(
      "an entry set to expire reads as absent after its time",
      async () => {
        await pg!.set(["session", "s"], { who: "ada" }, { expireIn: 300 });
        assert.deepEqual((await pg!.get(["session", "s"])).value, {
          who: "ada",
        });
        await new Promise((r) => setTimeout(r, 600));
        assert.equal((await pg!.get(["session", "s"])).value, null);
        assert.deepEqual(await listed(pg!, { prefix: ["session"] }), []);
      },
    );

    await t.step(
      "two connections incrementing one counter with checks lose no update",
      async () => {
        const second = await PgKv.connect(sameUrl);
        try {
          const bump = async (kv: Kv) => {
            for (let i = 0; i < 25; i++) {
              for (;;) {
                const now = await kv.get<number>(["counter"]);
                const r = await kv.atomic().check(now).set(
                  ["counter"],
                  (now.value ?? 0) + 1,
                ).commit();
                if (r.ok) break;
              }
            }
          };
          await Promise.all([bump(pg!), bump(second), bump(pg!)]);
          assert.equal((await pg!.get<number>(["counter"])).value, 75);
        } finally {
          second.close();
          await second.closed;
        }
      },
    );

    await t.step(
      "deno task grade stores its run on PostgreSQL, and --rescore grades it again from there to the same score",
      async () => {
        const url = await server!.database("graded");
        const dir = await Deno.makeTempDir({ prefix: "pg-grade-" });
        try {
          const grade = await new Deno.Command(Deno.execPath(), {
            args: [
              "run",
              "-A",
              "cli/grade.ts",
              "grade",
              "--controller",
              `${PYTHON} examples/thermostat.py`,
              "--scenario",
              SCENARIO,
              "--db",
              url,
              "--json",
              `${dir}/grade.json`,
            ],
            stdout: "piped",
            stderr: "piped",
          }).output();
          const said = new TextDecoder().decode(grade.stdout) +
            new TextDecoder().decode(grade.stderr);
          assert.equal(grade.code, 0, said);
          const report = JSON.parse(
            await Deno.readTextFile(`${dir}/grade.json`),
          );
          const { runId, score } = report.grades[0];
          const store = await RunStore.open(url);
          try {
            assert.deepEqual((await store.listRuns()).map((r) => r.runId), [
              runId,
            ]);
            assert.ok(await store.countMessages(runId) > 100);
          } finally {
            await store.close();
          }
          const rescore = await new Deno.Command(Deno.execPath(), {
            args: [
              "run",
              "-A",
              "cli/grade.ts",
              "grade",
              "--rescore",
              runId,
              "--db",
              url,
              "--json",
              `${dir}/again.json`,
            ],
            stdout: "piped",
            stderr: "piped",
          }).output();
          assert.equal(
            rescore.code,
            0,
            new TextDecoder().decode(rescore.stderr),
          );
          const again = JSON.parse(
            await Deno.readTextFile(`${dir}/again.json`),
          );
          assert.equal(again.grades[0].score, score);
        } finally {
          await Deno.remove(dir, { recursive: true });
        }
      },
    );

    await t.step(
      "deno task serve on PostgreSQL grades submissions, and a restart keeps them and the student's session",
      async () => {
        const url = await server!.database("class");
        const dir = await classFolder();
        let serve: ServeProcess | undefined;
        try {
          serve = await startServe(dir, {
            workers: 2,
            assignments: ASSIGNMENTS,
            db: url,
          });
          const token = [...serve.tokens.values()][0]!;
          const ids: string[] = [];
          for (
            const file of ["examples/thermostat.py", "examples/thermostat.ts"]
          ) {
            const r = await upload(serve.url, token, "pool", file);
            assert.equal(r.status, 202, r.text);
            ids.push(JSON.parse(r.text).submission.id);
          }
          const signin = await fetch(`${serve.url}/api/class/signin`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ token }),
          });
          const cookie = (signin.headers.get("set-cookie") ?? "").split(
            ";",
          )[0]!;
          await signin.body?.cancel();
          for (const id of ids) {
            const view = await until(async () => {
              const v = await studentView(serve!.url, token, id);
              return v.status === "graded" && v;
            }, `submission ${id} graded`);
            assert.ok(view.grade!.score > 50, JSON.stringify(view.grade));
          }
          await serve.child.kill();
          serve = await startServe(dir, {
            workers: 2,
            assignments: ASSIGNMENTS,
            db: url,
          });
          const me = await fetch(`${serve.url}/api/class/me`, {
            headers: { cookie },
          });
          assert.equal(me.status, 200, "still signed in after the restart");
          await me.body?.cancel();
          for (const id of ids) {
            assert.equal(
              (await studentView(serve.url, token, id)).status,
              "graded",
            );
          }
        } finally {
          await serve?.child.kill();
          await Deno.remove(dir, { recursive: true }).catch(() => {});
        }
      },
    );
  } finally {
    deno.close();
    pg?.close();
    await pg?.closed;
    await server?.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
