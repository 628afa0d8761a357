/**
 * Real peers for interoperability tests (Debian's mosquitto and mosquitto-clients, Python paho). On a developer's
 * machine without them, the tests that need them are ignored with a message; `.ci/run` installs them and sets
 * `FISHTANK_REQUIRE_PEERS=1`, so that in CI a missing peer fails instead of hiding a test.
 *
 * @module
 */

const cache = new Map<string, boolean>();

/** Whether `command` runs (`command --help`-like probe with the given args exits without a spawn error). */
export function hasCommand(
  command: string,
  args: string[] = ["--help"],
): boolean {
  const key = [command, ...args].join(" ");
  const known = cache.get(key);
  if (known !== undefined) return known;
  let ok = false;
  try {
    new Deno.Command(command, { args, stdout: "null", stderr: "null" })
      .outputSync();
    ok = true;
  } catch {
    ok = false;
  }
  cache.set(key, ok);
  return ok;
}

/** Python with paho-mqtt 2 (a venv; `.ci/run` makes it): `FISHTANK_PAHO2_PYTHON`, else the one `.ci/run` makes as root. */
export const PAHO2_PYTHON = Deno.env.get("FISHTANK_PAHO2_PYTHON") ??
  "/opt/fishtank-paho2/bin/python";

/** Node-RED 4 installed with `npm install --prefix DIR node-red@4`: `FISHTANK_NODE_RED_DIR`, else `.ci/run`'s. */
export const NODE_RED_DIR = Deno.env.get("FISHTANK_NODE_RED_DIR") ??
  "/opt/fishtank-node-red";

/** Whether {@linkcode PAHO2_PYTHON} can import paho-mqtt 2. */
export function hasPaho2(): boolean {
  try {
    return new Deno.Command(PAHO2_PYTHON, {
      args: [
        "-c",
        "import paho.mqtt; assert paho.mqtt.__version__.startswith('2')",
      ],
      stdout: "null",
      stderr: "null",
    }).outputSync().success;
  } catch {
    return false;
  }
}

/** Whether Node-RED is installed in {@linkcode NODE_RED_DIR}. */
export function hasNodeRed(): boolean {
  try {
    return Deno.statSync(`${NODE_RED_DIR}/node_modules/node-red/red.js`).isFile;
  } catch {
    return false;
  }
}

/** Whether `/usr/bin/python3` can import paho.mqtt. */
export function hasPaho(): boolean {
  const key = "paho";
  const known = cache.get(key);
  if (known !== undefined) return known;
  let ok = false;
  try {
    ok = new Deno.Command("/usr/bin/python3", {
      args: ["-c", "import paho.mqtt.client"],
      stdout: "null",
      stderr: "null",
    })
      .outputSync().success;
  } catch {
    ok = false;
  }
  cache.set(key, ok);
  return ok;
}

/**
 * `ignore` value for `Deno.test` options: true when the peer is missing and peers are not required. When
 * `FISHTANK_REQUIRE_PEERS=1` the test runs anyway (and fails, naming what is missing).
 */
export function ignoreWithout(available: boolean, what: string): boolean {
  if (available) return false;
  if (Deno.env.get("FISHTANK_REQUIRE_PEERS") === "1") return false;
  console.warn(
    `(skipping: ${what} is not installed; run .ci/run or install it to run this test)`,
  );
  return true;
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** A running Debian `mosquitto` on a free loopback port; dispose (or `stop()`) to end it. */
export interface Mosquitto extends AsyncDisposable {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** Starts `mosquitto` (anonymous, unless `options.config` says otherwise) and waits until it accepts connections. */
export async function startMosquitto(
  options: {
    /** Config lines instead of `allow_anonymous true`; `{dir}` stands for the broker's own folder. */
    config?: string;
    /** Files to write into that folder first (name → text). */
    files?: Record<string, string>;
    /** Run before the broker starts, with the folder (e.g. to make a password file). */
    prepare?: (dir: string) => Promise<void>;
  } = {},
): Promise<Mosquitto> {
  const port = freePort();
  const dir = await Deno.makeTempDir({ prefix: "fishtank-mosquitto-" });
  // Started as root, mosquitto reads its files as the "mosquitto" user.
  await Deno.chmod(dir, 0o755);
  for (const [name, text] of Object.entries(options.files ?? {})) {
    await Deno.writeTextFile(`${dir}/${name}`, text);
  }
  await options.prepare?.(dir);
  const config = (options.config ?? "allow_anonymous true\n")
    .replaceAll("{dir}", dir);
  await Deno.writeTextFile(
    `${dir}/mosquitto.conf`,
    `listener ${port} 127.0.0.1\n${config}`,
  );
  const child = new Deno.Command("mosquitto", {
    args: ["-c", `${dir}/mosquitto.conf`],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  let stopped: Promise<void> | null = null;
  const stop = () =>
    stopped ??= (async () => {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      await child.status;
      await Deno.remove(dir, { recursive: true });
    })();
  try {
    const deadline = Date.now() + 5_000;
    for (;;) {
      try {
        (await Deno.connect({ hostname: "127.0.0.1", port })).close();
        break;
      } catch (error) {
        if (Date.now() > deadline) {
          throw new Error(`mosquitto did not listen on port ${port}`, {
            cause: error,
          });
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
