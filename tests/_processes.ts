/**
 * Real processes for end-to-end tests: the simulator CLI, example controllers, mosquitto clients. Every wait is
 * bounded, and every process is killed when the test ends.
 *
 * @module
 */

import mqtt from "mqtt";

const ROOT = new URL("../", import.meta.url);

/** A child process whose output is collected as text while it runs. */
export class Child {
  readonly process: Deno.ChildProcess;
  output = "";
  readonly #done: Promise<void>;
  #waiters: { pattern: RegExp; resolve: (match: RegExpMatchArray) => void }[] =
    [];

  constructor(
    command: string,
    args: string[],
    options: { env?: Record<string, string>; cwd?: string } = {},
  ) {
    this.process = new Deno.Command(command, {
      args,
      cwd: options.cwd ?? ROOT.pathname,
      env: { NO_COLOR: "1", ...options.env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#done = Promise.all([
      this.#collect(this.process.stdout),
      this.#collect(this.process.stderr),
    ]).then(() => {});
  }

  async #collect(stream: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      this.output += decoder.decode(chunk, { stream: true });
      this.#waiters = this.#waiters.filter(({ pattern, resolve }) => {
        const match = this.output.match(pattern);
        if (match) resolve(match);
        return !match;
      });
    }
  }

  /** Waits until the output matches `pattern`, at most `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
    const match = this.output.match(pattern);
    if (match) return Promise.resolve(match);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w.resolve !== done);
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for ${pattern}; output so far:\n${this.output}`,
          ),
        );
      }, timeoutMs);
      const done = (m: RegExpMatchArray) => {
        clearTimeout(timer);
        resolve(m);
      };
      this.#waiters.push({ pattern, resolve: done });
    });
  }

  /** Waits for the process to exit, at most `timeoutMs`; kills it if it does not. */
  async exit(timeoutMs = 20_000): Promise<Deno.CommandStatus> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) =>
      timer = setTimeout(() => resolve("timeout"), timeoutMs)
    );
    const result = await Promise.race([this.process.status, timeout]);
    clearTimeout(timer);
    if (result === "timeout") {
      await this.kill();
      throw new Error(
        `process did not exit within ${timeoutMs} ms; output:\n${this.output}`,
      );
    }
    await this.#done;
    return result;
  }

  /** Stops the process (SIGTERM, then SIGKILL) and waits for its output to close. */
  async kill(): Promise<void> {
    try {
      this.process.kill("SIGTERM");
    } catch {
      // already gone
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const gone = await Promise.race([
      this.process.status.then(() => true),
      new Promise<boolean>((resolve) =>
        timer = setTimeout(() => resolve(false), 3000)
      ),
    ]);
    clearTimeout(timer);
    if (!gone) {
      try {
        this.process.kill("SIGKILL");
      } catch {
        // already gone
      }
      await this.process.status;
    }
    await this.#done;
  }
}

/** Starts `deno task sim` (the CLI module, with the task's permissions) and waits for its broker address. */
export async function startSim(
  args: string[],
): Promise<{ child: Child; url: string; port: number }> {
  const child = new Child(Deno.execPath(), [
    "run",
    "--allow-net",
    "--allow-read",
    "--allow-env",
    "--allow-sys",
    "cli/sim.ts",
    ...args,
  ]);
  try {
    const match = await child.waitFor(/MQTT\s+(mqtt:\/\/[\d.]+:(\d+))/);
    return { child, url: match[1]!, port: Number(match[2]) };
  } catch (error) {
    await child.kill();
    throw error;
  }
}

/** An mqtt.js client that records every message it receives on `filters`. */
export async function recorder(
  url: string,
  filters: string[],
  options: { protocolVersion?: 4 | 5 } = {},
): Promise<
  {
    client: mqtt.MqttClient;
    messages: { topic: string; text: string }[];
    close: () => Promise<void>;
  }
> {
  const client = await mqtt.connectAsync(url, {
    protocolVersion: options.protocolVersion ?? 4,
    reconnectPeriod: 0,
    connectTimeout: 5000,
  });
  const messages: { topic: string; text: string }[] = [];
  client.on(
    "message",
    (topic, payload) => messages.push({ topic, text: payload.toString() }),
  );
  await client.subscribeAsync(filters, { qos: 1 });
  return { client, messages, close: () => client.endAsync(true) };
}

/** Polls `check` every 20 ms until it returns a value other than undefined/false, at most `timeoutMs`. */
export async function eventually<T>(
  check: () => T | undefined | false,
  timeoutMs = 10_000,
  what = "condition",
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** The pids of `pid` and every process below it (read from /proc), to clean up after a SIGKILL of a server or worker. */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry.name)]);
    } catch {
      // gone meanwhile
    }
  }
  const tree: number[] = [];
  const walk = (p: number) => {
    tree.push(p);
    for (const c of children.get(p) ?? []) walk(c);
  };
  walk(pid);
  return tree;
}
