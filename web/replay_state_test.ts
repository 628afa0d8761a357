import assert from "node:assert/strict";
import type { MessageRecord, RunMeta } from "../store/mod.ts";
import { storeWithRuns, THERMOSTAT } from "./testing.ts";
import { frameFromStart, replayFrame, replayIndex } from "./replay_state.ts";

Deno.test("the replay index of a run still being written grows with it: every frame as a fold from the start says, before and after more records and once the run has ended", async () => {
  const fixture = await storeWithRuns([
    { student: "ada", controller: THERMOSTAT },
  ]);
  try {
    const store = fixture.store;
    const done = (await store.getRun(fixture.grades[0]!.runId))!;
    const records: MessageRecord[] = [];
    for await (const record of store.messages(done.runId)) records.push(record);
    const runId = `${done.runId}-live`;
    const running: RunMeta = { ...done, runId, outcome: "running" };
    await store.createRun(running);
    const recorder = store.recorder(runId);
    const copy = (list: MessageRecord[]) =>
      list.forEach(({ runId: _r, seq: _s, ...record }) =>
        recorder.append(record)
      );
    const half = Math.floor(records.length / 2);
    copy(records.slice(0, half));
    await recorder.flush();
    const halfway = records[half - 1]!.t;

    const agree = async (meta: RunMeta, times: number[]) => {
      for (const t of times) {
        assert.deepEqual(
          await replayFrame(store, meta, t),
          await frameFromStart(store, meta, t),
          `t = ${t}`,
        );
      }
    };
    await agree(running, [0, Math.round(halfway / 2), halfway, halfway + 60]);
    const index = await replayIndex(store, running);

    copy(records.slice(half));
    await recorder.flush();
    await index.extend();
    assert.equal(await replayIndex(store, running), index, "one index, kept");
    await agree(running, [halfway, done.simulated - 7, done.simulated]);

    await recorder.close();
    const ended: RunMeta = { ...running, outcome: "completed" };
    await store.finishRun(runId, { outcome: "completed" });
    await agree(ended, [1, done.simulated]);
  } finally {
    await fixture.close();
  }
});
