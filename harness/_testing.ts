/**
 * Test support for the harness: bounded waits, free ports, child processes with a deadline, and a throwaway Debian
 * `mosquitto` broker.
 *
 * @module
 */

/** Resolves after `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns true; throws after `timeoutMs`, naming `what` it was waiting for. */
export async function waitFor(
  what: string,
  check: () => boolean,
  timeoutMs = 3_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await delay(5);
  }
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Runs `command` to completion, killing it after `timeoutMs`; stdout and stderr as text. */
export async function run(
  command: string,
  args: string[],
  timeoutMs = 5_000,
): Promise<{ success: boolean; stdout: string; stderr: string }> {
  const child = new Deno.Command(command, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  try {
    const output = await child.output();
    const decoder = new TextDecoder();
    return {
      success: output.success,
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
    };
  } finally {
    clearTimeout(timer);
  }
}

/** A running Debian `mosquitto` on a free loopback port; dispose (or `stop()`) to end it. */
export interface Mosquitto extends AsyncDisposable {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** Starts `mosquitto` with a minimal anonymous configuration and waits until it accepts connections. */
export async function startMosquitto(): Promise<Mosquitto> {
  const port = freePort();
  const dir = await Deno.makeTempDir({ prefix: "fishtank-mosquitto-" });
  await Deno.writeTextFile(
    `${dir}/mosquitto.conf`,
    `listener ${port} 127.0.0.1\nallow_anonymous true\n`,
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
        await delay(20);
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
