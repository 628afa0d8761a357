/**
 * The terminal display (`deno task display`): a display of one tank, fed only by MQTT (so it works against any broker and any
 * simulator that keeps to the topic layout). In a terminal it redraws a table in place; otherwise (or with `--plain`)
 * it prints one line per batch of readings, which reads well in CI logs. `--once` prints the first batch and exits.
 *
 * Rendering is a pure function of a state object ({@linkcode renderDisplay}) fed by a message reducer
 * ({@linkcode applyMessage}); this file only wires them to mqtt.js, the terminal and the command line.
 *
 * @module
 */

import mqtt from "mqtt";
import { DEFAULT_ROOT, DEFAULT_TANK } from "../../protocol/mod.ts";
import {
  applyConnection,
  applyMessage,
  type DisplayState,
  initialDisplayState,
} from "./_display_state.ts";
import {
  describeChanges,
  renderDisplay,
  renderPlainLine,
} from "./_display_render.ts";
export { formatDuration } from "../../lib/mod.ts";

export {
  applyConnection,
  applyMessage,
  type ConnectionEvent,
  type DisplayState,
  initialDisplayState,
} from "./_display_state.ts";
export {
  describeChanges,
  judgeReading,
  latestSimTime,
  readingAge,
  renderDisplay,
  type RenderOptions,
  renderPlainLine,
  type Verdict,
} from "./_display_render.ts";

/** The broker used when `--broker` is not given. */
export const DEFAULT_BROKER = "mqtt://127.0.0.1:1883";

/** Resolved command-line options of the display. */
export interface DisplayOptions {
  broker: string;
  root: string;
  tank: string;
  plain: boolean;
  once: boolean;
  /** Seconds `--once` waits for readings. */
  timeout: number;
}

/** The display's options when none are given. */
export const DISPLAY_DEFAULTS = {
  broker: DEFAULT_BROKER,
  root: DEFAULT_ROOT,
  tank: DEFAULT_TANK,
  plain: false,
  once: false,
  timeout: 10,
} satisfies DisplayOptions;

/** Accepts `mqtt://host:port`, `host:port` or `host`; returns a URL mqtt.js understands. */
export function normalizeBroker(text: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text)
    ? text
    : `mqtt://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new TypeError(
      `--broker: expected a URL like ${DEFAULT_BROKER}, got "${text}"`,
    );
  }
  if (
    !["mqtt:", "mqtts:", "tcp:", "ssl:", "ws:", "wss:"].includes(
      url.protocol,
    ) || url.hostname === ""
  ) {
    throw new TypeError(
      `--broker: expected a URL like ${DEFAULT_BROKER} (mqtt, mqtts, ws or wss), got "${text}"`,
    );
  }
  return withScheme;
}

const NOT_RUNNING_HINT =
  " Is the simulator running? Start it with: deno task sim";

/** Turns an mqtt.js or socket error into a sentence for students, with a hint when the broker is simply not there. */
export function describeConnectionError(
  broker: string,
  error: unknown,
): string {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  let host = broker;
  try {
    host = new URL(broker).hostname;
  } catch {
    // Keep the whole string: it is only used in the message.
  }
  let what: string;
  let hint = "";
  switch (code) {
    case "ECONNREFUSED":
      what = "connection refused.";
      hint = NOT_RUNNING_HINT;
      break;
    case "ENOTFOUND":
    case "EAI_AGAIN":
      what = `no host called "${host}" was found. Check the --broker address.`;
      break;
    case "ETIMEDOUT":
      what = "the connection timed out.";
      hint = NOT_RUNNING_HINT;
      break;
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      what =
        "the host cannot be reached. Check the --broker address and the network.";
      break;
    case "ECONNRESET":
    case "EPIPE":
      what = "the broker closed the connection.";
      break;
    case 4:
    case 5:
    case 134:
    case 135:
      what = "the broker refused the login (not authorised).";
      break;
    default:
      what = `${message}.`;
  }
  return `Cannot connect to ${broker}: ${what}${hint}`;
}

const encoder = new TextEncoder();

function writeAll(
  file: { writeSync(p: Uint8Array): number },
  text: string,
): void {
  const bytes = encoder.encode(text);
  let written = 0;
  while (written < bytes.length) {
    written += file.writeSync(bytes.subarray(written));
  }
}

const HIDE_CURSOR = "\x1b[?25l";
const SHOW_CURSOR = "\x1b[?25h";
const CLEAR_SCREEN = "\x1b[2J";
const HOME = "\x1b[H";
const CLEAR_LINE_END = "\x1b[K";
const CLEAR_BELOW = "\x1b[J";

/** Redraw at most this often: a tank publishes several topics per tick, and one frame per tick is enough. */
const FRAME_MS = 100;

/**
 * Runs the display until Ctrl+C / SIGTERM (exit code 0), or with `--once` until the first batch (0) or a failure (1).
 */
export function runDisplay(options: DisplayOptions): Promise<number> {
  const interactive = !options.plain && Deno.stdout.isTerminal();
  const color = interactive && !Deno.env.get("NO_COLOR");
  let state: DisplayState = initialDisplayState(
    { broker: options.broker, root: options.root, tank: options.tank },
    Date.now(),
  );
  const topics = state.topics;
  // Sensors last: retained readings then arrive after the retained ranges, so `--once` judges them against ranges.
  const filters = [
    topics.status,
    topics.rangesWildcard,
    topics.actuators,
    topics.alarm,
    topics.clock,
    topics.errors,
    topics.controlWildcard,
    topics.sensorsWildcard,
  ];

  const client = mqtt.connect(options.broker, {
    clientId: `fishtank-display-${crypto.randomUUID().slice(0, 8)}`,
    clean: true,
    // --once reports the first failure instead of retrying; otherwise retry every 2 s so a sim started later is found.
    reconnectPeriod: options.once ? 0 : 2_000,
    connectTimeout: options.once ? options.timeout * 1000 : 10_000,
  });

  return new Promise<number>((resolve) => {
    let finished = false;
    let frameTimer: ReturnType<typeof setTimeout> | undefined;
    let lastFrame = 0;
    const ticker = interactive && !options.once
      ? setInterval(() => draw(), 1_000)
      : undefined;
    const onceTimer = options.once
      ? setTimeout(() => {
        console.error(
          `No readings on ${topics.sensorsAll} from ${options.broker} within ${options.timeout} s.` +
            (state.connection.state === "connected"
              ? ` Connected, but nothing arrived: is the simulator running for tank "${topics.tank}" under ` +
                `"${topics.root}"? Check --tank, --topic-root or --layout.`
              : NOT_RUNNING_HINT),
        );
        finish(1);
      }, options.timeout * 1000)
      : undefined;

    function draw(): void {
      if (finished || !interactive) return;
      lastFrame = Date.now();
      const frame = renderDisplay(state, { color, now: lastFrame }) +
        "\nPress Ctrl+C to quit.";
      writeAll(
        Deno.stdout,
        HOME + frame.split("\n").map((line) =>
          line + CLEAR_LINE_END
        ).join("\n") + CLEAR_BELOW,
      );
    }

    function scheduleDraw(): void {
      if (!interactive || frameTimer !== undefined) return;
      const wait = Math.max(0, FRAME_MS - (Date.now() - lastFrame));
      frameTimer = setTimeout(() => {
        frameTimer = undefined;
        draw();
      }, wait);
    }

    function update(next: DisplayState): void {
      const before = state;
      state = next;
      if (options.once) return;
      if (interactive) scheduleDraw();
      else {
        for (const line of describeChanges(before, next)) console.log(line);
        if (next.batch !== before.batch) {
          console.log(renderPlainLine(next, { now: Date.now() }));
        }
      }
    }

    const signals: Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGWINCH"];
    const onStop = () => finish(0);
    const onResize = () => {
      if (!interactive || options.once) return;
      writeAll(Deno.stdout, CLEAR_SCREEN);
      draw();
    };
    for (const signal of signals) {
      try {
        Deno.addSignalListener(
          signal,
          signal === "SIGWINCH" ? onResize : onStop,
        );
      } catch {
        // SIGTERM and SIGWINCH do not exist on Windows; Ctrl+C still works there.
      }
    }
    const restoreCursor = () => writeAll(Deno.stdout, SHOW_CURSOR);
    if (interactive && !options.once) {
      writeAll(Deno.stdout, HIDE_CURSOR + CLEAR_SCREEN);
      // Also on an unexpected exit, so the student's terminal never keeps a hidden cursor.
      globalThis.addEventListener("unload", restoreCursor);
      draw();
    }

    function finish(code: number): void {
      if (finished) return;
      finished = true;
      clearInterval(ticker);
      clearTimeout(frameTimer);
      clearTimeout(onceTimer);
      for (const signal of signals) {
        try {
          Deno.removeSignalListener(
            signal,
            signal === "SIGWINCH" ? onResize : onStop,
          );
        } catch {
          // Not registered on this platform.
        }
      }
      if (interactive && !options.once) {
        // Leave the last frame on screen, with the cursor back and below it.
        writeAll(Deno.stdout, SHOW_CURSOR + "\n");
        globalThis.removeEventListener("unload", restoreCursor);
      }
      client.end(true, {}, () => resolve(code));
    }

    client.on("connect", () => {
      update(applyConnection(state, { kind: "connected" }, Date.now()));
      client.subscribe(filters, { qos: 0 }, (error) => {
        if (error) {
          update(
            applyConnection(state, {
              kind: "error",
              message: `Cannot subscribe: ${error.message}`,
            }, Date.now()),
          );
          if (options.once) {
            console.error(
              `Cannot subscribe to ${topics.wildcard} on ${options.broker}: ${error.message}`,
            );
            finish(1);
          }
        }
      });
    });
    client.on(
      "reconnect",
      () =>
        update(applyConnection(state, { kind: "reconnecting" }, Date.now())),
    );
    client.on("close", () => {
      if (!finished) {
        update(applyConnection(state, { kind: "closed" }, Date.now()));
      }
    });
    client.on("error", (error) => {
      const message = describeConnectionError(options.broker, error);
      update(applyConnection(state, { kind: "error", message }, Date.now()));
      if (options.once) {
        console.error(message);
        finish(1);
      }
    });
    client.on("message", (topic, payload) => {
      if (finished) return;
      const before = state;
      update(applyMessage(state, topic, payload, Date.now()));
      if (options.once && state.batch !== before.batch) {
        const now = Date.now();
        const out = options.plain || !Deno.stdout.isTerminal()
          ? renderPlainLine(state, { now })
          : renderDisplay(state, { color, now });
        console.log(out);
        finish(0);
      }
    });
  });
}
