/**
 * A PostgreSQL server of the test's own (Debian's `postgresql` package): a new cluster in a temporary folder, trust
 * authentication, listening on 127.0.0.1 at a free port, stopped and removed at the end. As root, the server runs as
 * Debian's `postgres` user (PostgreSQL refuses to run as root).
 *
 * @module
 */

import { Child } from "./_processes.ts";
import { freePort } from "./_peers.ts";

/** Debian's PostgreSQL programs (the newest version installed), or undefined. */
export const PG_BIN = (() => {
  try {
    const versions = [...Deno.readDirSync("/usr/lib/postgresql")]
      .map((e) => e.name).filter((n) => /^\d+$/.test(n))
      .sort((a, b) => Number(b) - Number(a));
    for (const v of versions) {
      const bin = `/usr/lib/postgresql/${v}/bin`;
      if (Deno.statSync(`${bin}/initdb`).isFile) return bin;
    }
  } catch {
    // not installed
  }
  return undefined;
})();

/** A running test server. */
export interface PgServer {
  /** `postgres://postgres@127.0.0.1:PORT/postgres` */
  url: string;
  /** A new database on it, as a URL. */
  database(name: string): Promise<string>;
  stop(): Promise<void>;
}

const asRoot = Deno.uid() === 0;

function as(command: string, args: string[]): [string, string[]] {
  return asRoot
    ? ["runuser", ["-u", "postgres", "--", command, ...args]]
    : [command, args];
}

async function run(command: string, args: string[]): Promise<void> {
  const [c, a] = as(command, args);
  const out = await new Deno.Command(c, {
    args: a,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  if (!out.success) {
    throw new Error(
      `${command} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`,
    );
  }
}

/** Starts a new cluster; stop it with `stop()`. */
export async function startPostgres(): Promise<PgServer> {
  if (PG_BIN === undefined) throw new Error("PostgreSQL is not installed");
  const dir = await Deno.makeTempDir({ prefix: "fishtank-pg-" });
  await Deno.chmod(dir, 0o777);
  const data = `${dir}/data`;
  if (asRoot) {
    await Deno.mkdir(data, { mode: 0o700 });
    await new Deno.Command("chown", { args: ["postgres:postgres", data] })
      .output();
  }
  await run(`${PG_BIN}/initdb`, [
    "-D",
    data,
    "--auth=trust",
    "-U",
    "postgres",
    "--no-sync",
  ]);
  const port = freePort();
  const [c, a] = as(`${PG_BIN}/postgres`, [
    "-D",
    data,
    "-p",
    String(port),
    "-k",
    dir,
    "-c",
    "listen_addresses=127.0.0.1",
    "-c",
    "fsync=off",
  ]);
  const child = new Child(c, a);
  await child.waitFor(/ready to accept connections/, 30_000);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return {
    url,
    async database(name: string) {
      await run(`${PG_BIN}/psql`, [
        "-h",
        "127.0.0.1",
        "-p",
        String(port),
        "-U",
        "postgres",
        "-c",
        `create database "${name}"`,
      ]);
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    async stop() {
      // pg_ctl as the server's user: a signal to runuser would not reach the server.
      await run(`${PG_BIN}/pg_ctl`, ["-D", data, "stop", "-m", "fast", "-w"])
        .catch(() => child.process.kill("SIGKILL"));
      await child.process.status;
      await child.kill();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
