import assert from "node:assert/strict";
import { ConnectionOwners } from "./_connection_owner.ts";
import { canWatchProcesses } from "./_process_idle.ts";

/**
 * A Deno program that connects to 127.0.0.1:`port` and ends when the other side closes; with `child`, one that starts
 * such a program in a session of its own (setsid) and waits for it.
 */
function connector(port: number, child = false): string {
  const connect =
    `const c = await Deno.connect({ hostname: "127.0.0.1", port: ${port} });
    await c.read(new Uint8Array(1)).catch(() => null);`;
  return child
    ? `await new Deno.Command("setsid", {
        args: [Deno.execPath(), "eval", ${JSON.stringify(connect)}],
      }).spawn().status;`
    : connect;
}

Deno.test({
  name:
    "ConnectionOwners tells the controller's connections (its process group, a child that left it) from another process's",
  ignore: !canWatchProcesses(),
  async fn() {
    using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const { port } = listener.addr;
    const accept = async () => {
      const conn = await listener.accept();
      return { conn, port: (conn.remoteAddr as Deno.NetAddr).port };
    };
    // The controller: a process group of its own, as the harness starts it (setsid; its pid is the group's id).
    const controller = new Deno.Command("setsid", {
      args: [Deno.execPath(), "eval", connector(port)],
      stdout: "null",
      stderr: "null",
    }).spawn();
    const spawned: Deno.ChildProcess[] = [controller];
    const conns: Deno.Conn[] = [];
    try {
      const owners = new ConnectionOwners(controller.pid, port);
      const own = await accept();
      conns.push(own.conn);
      assert.deepEqual(owners.originOf(own.port), { controller: true });

      // A connection this test process opens: not the controller's, named by its command.
      const [mine, theirs] = await Promise.all([
        Deno.connect({ hostname: "127.0.0.1", port }),
        accept(),
      ]);
      conns.push(mine, theirs.conn);
      assert.deepEqual(owners.originOf(theirs.port), {
        controller: false,
        process: "deno",
      });

      // A process the controller's group started and that left it with setsid: still the controller's.
      const parent = new Deno.Command("setsid", {
        args: [Deno.execPath(), "eval", connector(port, true)],
        stdout: "null",
        stderr: "null",
      }).spawn();
      spawned.push(parent);
      const other = new ConnectionOwners(parent.pid, port);
      const child = await accept();
      conns.push(child.conn);
      assert.deepEqual(other.originOf(child.port), { controller: true });
      assert.deepEqual(
        owners.originOf(child.port),
        { controller: false, process: "deno" },
        "for another run's controller, it is not",
      );

      assert.equal(owners.originOf(1), undefined, "no such connection");
    } finally {
      for (const conn of conns) conn.close();
      // The programs end as their connections close; the setsid child of the second one, its parent with it.
      for (const process of spawned) {
        try {
          Deno.kill(-process.pid, "SIGKILL");
        } catch {
          // gone
        }
        await process.status;
      }
    }
  },
});
