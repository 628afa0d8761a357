/**
 * A Node-RED flow submitted to the class server: a student exports their flow (the example thermostat's
 * `flows.json`), uploads it with the start command `node-red`, and the server's worker grades it as a sealed run
 * through `examples/node-red/run.sh` and the Node-RED the teacher installed (`FISHTANK_NODE_RED_DIR`).
 */

import assert from "node:assert/strict";
import {
  classFolder,
  type ServeProcess,
  startServe,
  studentView,
  until,
  upload,
} from "./_class_server.ts";
import { hasNodeRed, ignoreWithout, NODE_RED_DIR } from "./_peers.ts";

Deno.test({
  name:
    "class server: a Node-RED flow uploaded with the node-red start command is graded through the teacher's Node-RED",
  ignore: ignoreWithout(hasNodeRed(), `Node-RED 4 in ${NODE_RED_DIR}`),
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const dir = await classFolder();
  let serve: ServeProcess | undefined;
  try {
    serve = await startServe(dir, {
      workers: 1,
      assignments: "tests/fixtures/class/node_red_assignment.yaml",
      env: { FISHTANK_NODE_RED_DIR: NODE_RED_DIR },
    });
    const token = [...serve.tokens.values()][0]!;
    // A flow is only taken with a start command the assignment allows.
    const refused = await upload(
      serve.url,
      token,
      "flows",
      "examples/node-red/flows.json",
      { kind: "python3" },
    );
    assert.equal(refused.status, 400, refused.text);
    assert.match(refused.text, /Node-RED/);

    const r = await upload(
      serve.url,
      token,
      "flows",
      "examples/node-red/flows.json",
      { kind: "node-red" },
    );
    assert.equal(r.status, 202, `${r.text}\n${serve.child.output}`);
    const id = JSON.parse(r.text).submission.id as string;
    const graded = await until(async () => {
      const view = await studentView(serve!.url, token, id);
      return view.status === "graded" || view.status === "failed"
        ? view
        : undefined;
    }, "the flow's grade");
    assert.equal(graded.status, "graded", JSON.stringify(graded));
    assert.deepEqual(graded.start, { kind: "node-red", entry: "flows.json" });
    const [card] = graded.grade!.scenarios;
    assert.ok(card && "outcome" in card, JSON.stringify(graded.grade));
    assert.equal(card.outcome, "completed", card.outcomeMessage ?? "");
    // The example flow is a working thermostat: it passes the half hour.
    assert.equal(graded.grade!.pass, true, JSON.stringify(graded.grade));
  } finally {
    if (serve) await serve.child.kill();
    await Deno.remove(dir, { recursive: true });
  }
});
