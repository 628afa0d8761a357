import assert from "node:assert/strict";
import { INDEXED_FIELDS, indexPrefix, runKey } from "./_run_keys.ts";
import {
  emptyRunStats,
  type MessageRecord,
  type RunMeta,
} from "./run_record.ts";
import { newRunId, RunRecorder, RunStore, RunStoreError } from "./run_store.ts";

const STORE_URL = new URL("./run_store.ts", import.meta.url).href;
const encoder = new TextEncoder();

function meta(overrides: Partial<RunMeta> = {}): RunMeta {
  return {
    runId: newRunId(),
    scenario: {
      id: "steady-day",
      version: 1,
      title: "A steady day",
      hash: "ab".repeat(32),
      source: "id: steady-day\nversion: 1\n",
    },
    seed: 42,
    simulatorVersion: "0.1.0+1",
    controller: {
      command: "python3 thermostat.py",
      exitCode: null,
      signal: null,
    },
    student: "ada",
    tank: "tank1",
    root: "fishtank",
    mode: "lockstep",
    ackMode: "explicit",
    startedAt: "2026-01-15T10:00:00.000Z",
    outcome: "running",
    simulated: 0,
    stats: emptyRunStats(),
    ...overrides,
  };
}

type Input = Omit<MessageRecord, "runId" | "seq">;

/** Records like a lockstep run's: readings, commands, truth samples, notes; a few odd ones by index. */
function sample(i: number): Input {
  const base = {
    t: i * 10,
    wall: 1_768_471_200_000 + i,
    qos: 0 as const,
    retain: false,
  };
  switch (i % 4) {
    case 0:
      return {
        ...base,
        kind: "publish",
        client: "$harness",
        topic: "fishtank/tank1/sensors/all",
        payload: encoder.encode(
          JSON.stringify({ t: i * 10, temperature: 24 + (i % 7) / 10 }),
        ),
        retain: true,
        qos: 1,
      };
    case 1:
      return {
        ...base,
        kind: "publish",
        client: "controller-1",
        topic: "fishtank/tank1/control/heater",
        payload: encoder.encode(i % 3 ? "on" : "off"),
      };
    case 2:
      return {
        ...base,
        kind: "truth",
        client: "$harness",
        topic: "$truth",
        payload: encoder.encode(
          JSON.stringify({ t: i * 10, values: { temperature: 24.5 } }),
        ),
      };
    default:
      return {
        ...base,
        kind: "note",
        client: "$harness",
        topic: "",
        payload: new Uint8Array(0),
        note: `step ${i} acked`,
      };
  }
}

async function collect(
  iterable: AsyncIterable<MessageRecord>,
): Promise<MessageRecord[]> {
  const out: MessageRecord[] = [];
  for await (const record of iterable) out.push(record);
  return out;
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A temp folder with a store file path, removed at the end. */
async function tempStorePath(): Promise<{ path: string } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "fishtank-store-" });
  return {
    path: `${dir}/nested/fishtank.kv`,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

/** Every index entry points at a run whose fields it names, and every run has exactly its index entries. */
async function assertIndexesConsistent(path: string): Promise<number> {
  const kv = await Deno.openKv(path);
  try {
    const runs = new Map<string, RunMeta>();
    for await (
      const entry of kv.list<{ meta: RunMeta }>({ prefix: ["runs"] })
    ) {
      runs.set(entry.key[1] as string, entry.value.meta);
    }
    const seen = new Map<string, string[]>();
    for await (const entry of kv.list({ prefix: ["run_index"] })) {
      const runId = entry.key.at(-1) as string;
      const run = runs.get(runId);
      assert.ok(run, `index entry ${JSON.stringify(entry.key)} has no run`);
      const field = entry.key[1] as string;
      const started = Date.parse(run.startedAt);
      const expected = field === "all" ? [...indexPrefix(), started, runId] : [
        ...indexPrefix(
          field as (typeof INDEXED_FIELDS)[number],
          field === "scenario"
            ? run.scenario.id
            : String(run[field as "student"]),
        ),
        started,
        runId,
      ];
      assert.deepEqual(entry.key, expected, `stale index entry for ${runId}`);
      seen.set(runId, [...(seen.get(runId) ?? []), field]);
    }
    for (const [runId, run] of runs) {
      const fields = [
        "all",
        "student",
        "scenario",
        "outcome",
        ...(run.group === undefined ? [] : ["group"]),
      ];
      assert.deepEqual(
        seen.get(runId)?.sort(),
        fields.sort(),
        `index entries of ${runId}`,
      );
    }
    return runs.size;
  } finally {
    kv.close();
  }
}

async function runChild(
  code: string,
  args: string[] = [],
): Promise<Deno.ChildProcess> {
  const dir = await Deno.makeTempDir({ prefix: "fishtank-child-" });
  const file = `${dir}/child.ts`;
  await Deno.writeTextFile(file, code.replaceAll("STORE_URL", STORE_URL));
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-kv", "--no-config", file, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  child.status.finally(() => Deno.remove(dir, { recursive: true }));
  return child;
}

/** Reads a child's stdout line by line into `lines`, with the time each arrived. */
function readLines(
  child: Deno.ChildProcess,
  lines: { at: number; text: string }[],
): Promise<void> {
  return (async () => {
    const decoder = new TextDecoder();
    let buffer = "";
    for await (const chunk of child.stdout) {
      buffer += decoder.decode(chunk, { stream: true });
      let newline;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        lines.push({ at: performance.now(), text: buffer.slice(0, newline) });
        buffer = buffer.slice(newline + 1);
      }
    }
  })();
}

for (const backend of ["memory", "file"] as const) {
  const open = async () => {
    if (backend === "memory") {
      const store = await RunStore.open(":memory:");
      return { store, [Symbol.asyncDispose]: () => store.close() };
    }
    const temp = await tempStorePath();
    const store = await RunStore.open(temp.path);
    return {
      store,
      [Symbol.asyncDispose]: async () => {
        await store.close();
        await temp[Symbol.asyncDispose]();
      },
    };
  };

  Deno.test(`RunStore (${backend}) creates, gets, lists newest first with filters, and finishes runs`, async () => {
    await using handle = await open();
    const { store } = handle;
    const a = meta({
      runId: "a",
      student: "ada",
      startedAt: "2026-01-15T10:00:00Z",
      group: "5B",
    });
    const b = meta({
      runId: "b",
      student: "bob",
      startedAt: "2026-01-15T11:00:00Z",
      scenario: { ...a.scenario, id: "cold-room" },
    });
    const c = meta({
      runId: "c",
      student: "ada",
      startedAt: "2026-01-15T12:00:00Z",
      group: "5B",
    });
    for (const run of [a, b, c]) await store.createRun(run);
    await assert.rejects(() => store.createRun(a), RunStoreError);

    assert.deepEqual(await store.getRun("b"), b);
    assert.equal(await store.getRun("nope"), null);
    const ids = async (filter = {}) =>
      (await store.listRuns(filter)).map((r) => r.runId);
    assert.deepEqual(await ids(), ["c", "b", "a"]);
    assert.deepEqual(await ids({ student: "ada" }), ["c", "a"]);
    assert.deepEqual(await ids({ scenario: "cold-room" }), ["b"]);
    assert.deepEqual(await ids({ group: "5B", limit: 1 }), ["c"]);
    assert.deepEqual(await ids({ outcome: "running" }), ["c", "b", "a"]);

    const finished = await store.finishRun("a", {
      outcome: "completed",
      simulated: 86400,
      stats: { ...a.stats, messages: 12 },
    });
    assert.equal(finished.outcome, "completed");
    assert.ok(finished.endedAt, "endedAt set when the run leaves running");
    assert.deepEqual(await store.getRun("a"), finished);
    assert.deepEqual(await ids({ outcome: "running" }), ["c", "b"]);
    assert.deepEqual(await ids({ outcome: "completed" }), ["a"]);
    assert.deepEqual(await ids({ student: "ada", outcome: "completed" }), [
      "a",
    ]);
    assert.deepEqual(await ids({ student: "ada", outcome: "crashed" }), []);
    // Changing an indexed field moves the run between index entries.
    await store.finishRun("c", { outcome: "crashed", group: "5C" });
    assert.deepEqual(await ids({ group: "5B" }), ["a"]);
    assert.deepEqual(await ids({ group: "5C" }), ["c"]);

    await assert.rejects(
      () => store.finishRun("nope", { outcome: "completed" }),
      RunStoreError,
    );
    await assert.rejects(() => store.finishRun("a", { runId: "z" }), TypeError);
    assert.equal(await store.deleteRun("b"), true);
    assert.equal(await store.deleteRun("b"), false);
    assert.deepEqual(await ids(), ["c", "a"]);
  });

  Deno.test(`RunStore (${backend}) stores 100,000 records and reads them back identical in order, with a 10 MB payload and empty ones`, async () => {
    await using handle = await open();
    const { store } = handle;
    const run = meta();
    await store.createRun(run);
    const recorder = store.recorder(run.runId);
    const big = new Uint8Array(10 * 1024 * 1024).map((_, i) =>
      (i * 7919) % 256
    );
    const written: MessageRecord[] = [];
    for (let i = 0; i < 100_000; i++) {
      const input = i === 50_000
        ? {
          ...sample(i),
          kind: "publish" as const,
          topic: "fishtank/tank1/big",
          payload: big,
        }
        : sample(i);
      const record = recorder.append(input);
      assert.equal(record.seq, i);
      assert.equal(record.runId, run.runId);
      written.push(record);
      if (recorder.overloaded) await recorder.flush();
    }
    assert.equal(recorder.count, 100_000);
    await recorder.close();
    assert.equal(recorder.pending, 0);
    assert.equal(await store.countMessages(run.runId), 100_000);
    const read = await collect(store.messages(run.runId));
    assert.equal(read.length, written.length);
    for (let i = 0; i < read.length; i++) {
      if (i === 50_000) {
        assert.equal(read[i]!.payload.length, big.length);
        assert.ok(
          read[i]!.payload.every((byte, j) => byte === big[j]),
          "10 MB payload byte-identical",
        );
        assert.deepEqual({ ...read[i], payload: null }, {
          ...written[i],
          payload: null,
        });
      } else {
        assert.deepEqual(read[i], written[i], `record ${i}`);
      }
    }
    // fromSeq lands in the middle of a page; kinds filters without losing seq numbers.
    const tail = await collect(store.messages(run.runId, { fromSeq: 99_990 }));
    assert.deepEqual(
      tail.map((r) => r.seq),
      Array.from({ length: 10 }, (_, i) => 99_990 + i),
    );
    const notes = await collect(
      store.messages(run.runId, { fromSeq: 49_990, kinds: ["note"] }),
    );
    assert.equal(notes.length, Math.floor((100_000 - 49_990) / 4) + 1);
    assert.ok(notes.every((r) => r.kind === "note" && r.seq % 4 === 3));
    assert.deepEqual(notes[0], written[49_991]);
    // Deleting the run removes its messages too.
    await store.deleteRun(run.runId);
    assert.equal(await store.countMessages(run.runId), 0);
  });
}

Deno.test("records and runs survive closing and reopening a file store", async () => {
  await using temp = await tempStorePath();
  const run = meta();
  {
    const store = await RunStore.open(temp.path);
    await store.createRun(run);
    const recorder = store.recorder(run.runId);
    for (let i = 0; i < 1000; i++) recorder.append(sample(i));
    // close() of the store closes its recorders, storing what they hold.
    await store.close();
  }
  const store = await RunStore.open(temp.path);
  try {
    assert.deepEqual(await store.getRun(run.runId), run);
    assert.equal(await store.countMessages(run.runId), 1000);
    const read = await collect(store.messages(run.runId));
    assert.deepEqual(read.map((r) => r.note ?? r.topic).slice(0, 4), [
      "fishtank/tank1/sensors/all",
      "fishtank/tank1/control/heater",
      "$truth",
      "step 3 acked",
    ]);
  } finally {
    await store.close();
  }
});

Deno.test("a long scenario text is stored beside the summary and comes back whole", async () => {
  await using handle = {
    store: await RunStore.open(":memory:"),
    async [Symbol.asyncDispose]() {
      await this.store.close();
    },
  };
  const source = "# a scenario with many comments — ünïcode\n".repeat(3000);
  const run = meta({ scenario: { ...meta().scenario, source } });
  await handle.store.createRun(run);
  assert.equal((await handle.store.getRun(run.runId))?.scenario.source, source);
  const finished = await handle.store.finishRun(run.runId, {
    outcome: "completed",
  });
  assert.equal(finished.scenario.source, source);
  assert.equal((await handle.store.listRuns())[0]?.scenario.source, source);
});

Deno.test("an attachment comes back equal across slices, is replaced whole, and goes with its run", async () => {
  await using handle = {
    store: await RunStore.open(":memory:"),
    async [Symbol.asyncDispose]() {
      await this.store.close();
    },
  };
  const { store } = handle;
  const run = meta();
  await store.createRun(run);
  assert.equal(await store.getAttachment(run.runId, "digest"), null);
  // Noise compresses badly, so this takes several 60 kB slices.
  let x = 12345;
  const big = Array.from({ length: 60_000 }, () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x / 2 ** 31;
  });
  await store.putAttachment(run.runId, "digest", { big, text: "ünïcode" });
  assert.deepEqual(await store.getAttachment(run.runId, "digest"), {
    big,
    text: "ünïcode",
  });
  await store.putAttachment(run.runId, "digest", { small: true });
  assert.deepEqual(await store.getAttachment(run.runId, "digest"), {
    small: true,
  });
  await assert.rejects(
    store.putAttachment(run.runId, "digest", {
      noise: Array.from({ length: 400_000 }, (_, i) => (i * 7919) % 104729),
    }),
    (error: Error) =>
      error instanceof RangeError &&
      /at most \d+ can be stored/.test(error.message),
  );
  assert.deepEqual(await store.getAttachment(run.runId, "digest"), {
    small: true,
  });
  assert.equal(await store.deleteRun(run.runId), true);
  assert.equal(await store.getAttachment(run.runId, "digest"), null);
  await assert.rejects(
    store.putAttachment(run.runId, "digest", {}),
    (error: Error) =>
      error instanceof RunStoreError && /no such run/.test(error.message),
  );
});

Deno.test("RunStore.open() names the path it cannot open", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/file`, "not a folder");
    await assert.rejects(
      () => RunStore.open(`${dir}/file/fishtank.kv`),
      (error: Error) => {
        assert.ok(error instanceof RunStoreError);
        assert.match(
          error.message,
          /^Cannot open the data store ".*\/file\/fishtank\.kv": /,
        );
        assert.ok(error.cause);
        return true;
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the recorder commits at least every second without flush(): a second connection sees the records", async () => {
  await using temp = await tempStorePath();
  const store = await RunStore.open(temp.path);
  try {
    const recorder = store.recorder("r");
    for (let i = 0; i < 500; i++) recorder.append(sample(i));
    assert.equal(recorder.pending, 500);
    const kv = await Deno.openKv(temp.path);
    try {
      const pages = async () =>
        (await Array.fromAsync(kv.list({ prefix: ["msgs", "r"] }))).length;
      assert.equal(await pages(), 0, "nothing stored before the period");
      await delay(1500);
      assert.equal(recorder.pending, 0);
      assert.ok(await pages() > 0, "stored within a second");
      const other = await RunStore.open(temp.path);
      assert.equal(await other.countMessages("r"), 500);
      await other.close();
    } finally {
      kv.close();
    }
    await recorder.close();
  } finally {
    await store.close();
  }
});

Deno.test("a recorder SIGKILLed mid-run loses at most its last second, and a later start marks the run interrupted", async () => {
  await using temp = await tempStorePath();
  const child = await runChild(
    `
    import { RunStore } from "STORE_URL";
    const store = await RunStore.open(Deno.args[0], { heartbeatMs: 100 });
    await store.createRun(JSON.parse(Deno.args[1]));
    const recorder = store.recorder("killed");
    const payload = new TextEncoder().encode('{"t":0,"temperature":24.5,"ph":7.0,"oxygen":8.1}');
    for (let i = 0; ; i++) {
      recorder.append({ t: i, wall: Date.now(), kind: "publish", client: "$harness", topic: "fishtank/tank1/sensors/all", payload, qos: 0, retain: false });
      if (i % 100 === 0) {
        console.log(recorder.count);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
  `,
    [temp.path, JSON.stringify(meta({ runId: "killed" }))],
  );
  const lines: { at: number; text: string }[] = [];
  const reading = readLines(child, lines);
  const started = performance.now();
  while (lines.length === 0 && performance.now() - started < 20_000) {
    await delay(20);
  }
  await delay(1500);
  const killedAt = performance.now();
  child.kill("SIGKILL");
  await child.status;
  await reading;
  const appended = Number(lines.at(-1)!.text);
  // What the child had appended 1.2 s before it died (a second, plus a commit's latency) must all be stored.
  const secondBefore = Number(
    lines.findLast((line) => line.at <= killedAt - 1200)?.text ?? 0,
  );
  assert.ok(secondBefore > 0, "the child ran for more than a second");

  const store = await RunStore.open(temp.path, { staleAfterMs: 300 });
  try {
    const stored = await store.countMessages("killed");
    assert.ok(
      stored >= secondBefore,
      `stored ${stored}, but ${secondBefore} were appended a second before the kill`,
    );
    assert.ok(stored <= appended + 100);
    const read = await collect(store.messages("killed"));
    assert.equal(read.length, stored);
    assert.ok(read.every((record, i) => record.seq === i && record.t === i));
    // The dead child's heartbeat is older than staleAfterMs by now.
    await delay(300);
    assert.deepEqual(await store.markInterrupted(), ["killed"]);
    const run = await store.getRun("killed");
    assert.equal(run?.outcome, "interrupted");
    assert.equal(run?.stats.messages, stored);
    assert.equal(run?.simulated, stored - 1);
    assert.match(run?.outcomeMessage ?? "", /pid \d+/);
  } finally {
    await store.close();
  }
});

Deno.test("markInterrupted() marks only runs whose owner stopped its heartbeat", async () => {
  await using temp = await tempStorePath();
  const live = await RunStore.open(temp.path, { heartbeatMs: 50 });
  const dead = await RunStore.open(temp.path, { heartbeatMs: 50 });
  const checker = await RunStore.open(temp.path, { staleAfterMs: 400 });
  try {
    await live.createRun(meta({ runId: "live" }));
    await dead.createRun(meta({ runId: "dead" }));
    await checker.createRun(meta({ runId: "mine" }));
    await live.createRun(meta({ runId: "done", outcome: "running" }));
    await live.finishRun("done", { outcome: "completed" });
    await dead.close();
    assert.deepEqual(
      await checker.markInterrupted(),
      [],
      "nothing is stale yet",
    );
    await delay(600);
    // The checker's own run is alive whatever its age; the live store's heartbeat is fresh.
    assert.deepEqual(await checker.markInterrupted(), ["dead"]);
    assert.equal((await checker.getRun("dead"))?.outcome, "interrupted");
    assert.equal((await checker.getRun("live"))?.outcome, "running");
    assert.equal((await checker.getRun("mine"))?.outcome, "running");
    assert.equal((await checker.getRun("done"))?.outcome, "completed");
    assert.deepEqual(await live.markInterrupted(), []);
    await live.finishRun("live", { outcome: "completed" });
    await checker.finishRun("mine", { outcome: "completed" });
    await assertIndexesConsistent(temp.path);
  } finally {
    await live.close();
    await checker.close();
  }
});

Deno.test("finishRun() from two connections at once leaves one outcome, in the summary and the index alike", async () => {
  await using temp = await tempStorePath();
  const first = await RunStore.open(temp.path);
  const second = await RunStore.open(temp.path);
  try {
    for (let i = 0; i < 20; i++) {
      await first.createRun(
        meta({
          runId: `run-${i}`,
          startedAt: new Date(Date.UTC(2026, 0, 15, 10, i)).toISOString(),
        }),
      );
    }
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => [
        first.finishRun(`run-${i}`, { outcome: "completed", group: "A" }),
        second.finishRun(`run-${i}`, { outcome: "crashed", student: "eve" }),
      ]).flat(),
    );
    assert.equal(await assertIndexesConsistent(temp.path), 20);
    const runs = await first.listRuns();
    assert.equal(runs.length, 20);
    for (const run of runs) {
      // Both patches were applied, one after the other, never lost.
      assert.equal(run.group, "A");
      assert.equal(run.student, "eve");
      assert.ok(["completed", "crashed"].includes(run.outcome));
    }
  } finally {
    await first.close();
    await second.close();
  }
});

Deno.test("a harness SIGKILLed while finishing runs never leaves a summary without its index or the reverse", async () => {
  await using temp = await tempStorePath();
  const child = await runChild(
    `
    import { RunStore } from "STORE_URL";
    const store = await RunStore.open(Deno.args[0]);
    const template = JSON.parse(Deno.args[1]);
    const outcomes = ["completed", "crashed", "unresponsive", "flooding"];
    for (let i = 0; ; i++) {
      const runId = "run-" + i;
      await store.createRun({ ...template, runId, student: "s" + (i % 5) });
      await store.finishRun(runId, { outcome: outcomes[i % 4], group: "g" + (i % 3), student: "t" + (i % 7) });
      if (i > 0) await store.finishRun("run-" + (i - 1), { outcome: "error", group: "late" });
      if (i % 50 === 0) console.log(i);
    }
  `,
    [temp.path, JSON.stringify(meta())],
  );
  const lines: { at: number; text: string }[] = [];
  const reading = readLines(child, lines);
  const started = performance.now();
  while (lines.length < 3 && performance.now() - started < 20_000) {
    await delay(10);
  }
  await delay(Math.random() * 100);
  child.kill("SIGKILL");
  await child.status;
  await reading;
  const runs = await assertIndexesConsistent(temp.path);
  assert.ok(runs >= 100, `${runs} runs written before the kill`);
  const kv = await Deno.openKv(temp.path);
  try {
    assert.ok((await kv.get(runKey("run-0"))).value !== null);
  } finally {
    kv.close();
  }
});

Deno.test("the recorder reports its queue, refuses appends after close, and fails loudly when the store goes away", async () => {
  const store = await RunStore.open(":memory:");
  const recorder = store.recorder("q", { highWaterBytes: 5_000 });
  assert.throws(() => store.recorder("q"), RunStoreError);
  for (let i = 0; i < 200; i++) recorder.append(sample(i));
  assert.equal(recorder.pending, 200);
  assert.ok(recorder.pendingBytes > 5_000);
  assert.equal(recorder.overloaded, true);
  await recorder.flush();
  assert.equal(recorder.pending, 0);
  assert.equal(recorder.overloaded, false);
  assert.throws(
    () =>
      recorder.append({
        ...sample(0),
        payload: "text" as unknown as Uint8Array,
      }),
    TypeError,
  );
  await recorder.close();
  assert.throws(() => recorder.append(sample(0)), RunStoreError);
  assert.equal(await store.countMessages("q"), 200);

  const orphan = store.recorder("orphan");
  await store.close();
  await assert.rejects(() => store.countMessages("q"), RunStoreError);
  assert.throws(() => orphan.append(sample(0)), RunStoreError);
});

/** A KV whose atomic commits take `ms` each, or fail. */
function slowKv(
  ms: number,
  fail = false,
): { kv: Deno.Kv; commits: () => number } {
  let commits = 0;
  const kv = {
    atomic() {
      const op = {
        set: () => op,
        commit: async () => {
          await delay(ms);
          if (fail) throw new Error("disk full");
          commits++;
          return { ok: true, versionstamp: String(commits) };
        },
      };
      return op;
    },
  };
  return { kv: kv as unknown as Deno.Kv, commits: () => commits };
}

Deno.test("when the store is slower than the input, append() stays synchronous, overloaded says so, and memory stays bounded", async () => {
  const { kv, commits } = slowKv(30);
  const recorder = new RunRecorder(kv, "slow", {
    highWaterBytes: 200_000,
    maxQueueBytes: 1_000_000,
  });
  let i = 0;
  // Without waiting, the queue grows until append() refuses rather than eat memory.
  assert.throws(
    () => {
      for (; i < 100_000; i++) recorder.append(sample(i));
    },
    (error: Error) =>
      error instanceof RunStoreError &&
      /MiB wait for the store/.test(error.message),
  );
  assert.ok(
    recorder.pendingBytes < 1_200_000,
    `${recorder.pendingBytes} bytes queued`,
  );
  assert.equal(recorder.overloaded, true);
  await recorder.flush();
  assert.equal(recorder.pending, 0);
  // A producer that awaits flush() when overloaded never hits the limit.
  for (let j = 0; j < 20_000; j++) {
    recorder.append(sample(j));
    assert.ok(recorder.pendingBytes < 1_000_000);
    if (recorder.overloaded) await recorder.flush();
  }
  await recorder.close();
  assert.ok(commits() > 5);
});

Deno.test("a failed commit makes flush() reject and append() throw, with the cause", async () => {
  const recorder = new RunRecorder(slowKv(1, true).kv, "doomed");
  recorder.append(sample(0));
  await assert.rejects(() => recorder.flush(), (error: Error) => {
    assert.ok(error instanceof RunStoreError);
    assert.match(error.message, /Cannot record run "doomed": disk full/);
    assert.equal((error.cause as Error).message, "disk full");
    return true;
  });
  assert.throws(() => recorder.append(sample(1)), RunStoreError);
  await assert.rejects(() => recorder.close(), RunStoreError);
});

Deno.test("six processes creating one new store file at once all open it", async () => {
  await using temp = await tempStorePath();
  const children = await Promise.all(
    Array.from({ length: 6 }, (_, i) =>
      runChild(
        `
    import { RunStore } from "STORE_URL";
    const store = await RunStore.open(Deno.args[0]);
    await store.createRun(JSON.parse(Deno.args[1]));
    await store.close();
    console.log("opened");
  `,
        [temp.path, JSON.stringify(meta({ runId: `racer-${i}` }))],
      )),
  );
  const outputs = await Promise.all(
    children.map(async (child) => {
      const { code } = await child.status;
      return { code, text: await new Response(child.stdout).text() };
    }),
  );
  assert.deepEqual(outputs.map((o) => o.code), [0, 0, 0, 0, 0, 0]);
  const store = await RunStore.open(temp.path);
  try {
    assert.equal((await store.listRuns()).length, 6);
  } finally {
    await store.close();
  }
});
