import assert from "node:assert/strict";
import { commitRetrying, isLockedError } from "./_kv_commit.ts";

function flaky(failures: Error[]): Deno.AtomicOperation & { calls: number } {
  const op = {
    calls: 0,
    commit() {
      op.calls++;
      const error = failures.shift();
      return error
        ? Promise.reject(error)
        : Promise.resolve({ ok: true as const, versionstamp: "1" });
    },
  };
  return op as unknown as Deno.AtomicOperation & { calls: number };
}

Deno.test("commitRetrying() commits again while SQLite says the database is locked", async () => {
  const op = flaky([
    new TypeError("database is locked"),
    new TypeError("database is locked"),
  ]);
  assert.deepEqual(await commitRetrying(op), { ok: true, versionstamp: "1" });
  assert.equal(op.calls, 3);
});

Deno.test("commitRetrying() passes other errors through at once, and gives up on a lock after its timeout", async () => {
  const op = flaky([new TypeError("Value too large (max 65536 bytes)")]);
  await assert.rejects(() => commitRetrying(op), /Value too large/);
  assert.equal(op.calls, 1);
  const locked = flaky(
    Array.from({ length: 1000 }, () => new TypeError("database is locked")),
  );
  await assert.rejects(
    () => commitRetrying(locked, { timeoutMs: 30 }),
    /database is locked/,
  );
  assert.ok(isLockedError(new Error("database is busy")));
  assert.equal(isLockedError("database is locked"), false);
});
