/**
 * The controller's side of a lockstep run: its process started with the harness's environment and preloads,
 * confined unless told otherwise, and the last words of one that exited early.
 *
 * @module
 */

import type { EmbeddedBroker } from "../broker/mod.ts";
import {
  controllerEnv,
  ControllerProcess,
  PRELOAD_DIR,
} from "./controller_process.ts";
import { sandbox, type SandboxLimits, sandboxLimits } from "./sandbox.ts";
import { allocateRunUser, type RunUser } from "./_run_user.ts";

/** What {@linkcode startController} needs. */
export interface StartControllerOptions {
  broker: EmbeddedBroker;
  tank: string;
  root: string;
  /** Limits to change, or false to run the controller as given; undefined: confined with the default limits. */
  sandbox: Partial<SandboxLimits> | false | undefined;
  /** The run's broker credentials, given as `MQTT_USERNAME` and `MQTT_PASSWORD`. */
  credentials?: { username: string; password: string };
  onOutput?: (stream: "stdout" | "stderr", line: string) => void;
}

/** A started controller: its process and, when confined, how and for how long. */
export interface StartedController {
  process: ControllerProcess;
  /** How the controller was confined, undefined when it was not. */
  confined: string | undefined;
  /** Wall milliseconds the run may take while controlled (Infinity when not confined). */
  wallLimitMs: number;
}

/** Starts `command` as the run's controller, confined unless `options.sandbox` is false. */
export function startController(
  command: string,
  options: StartControllerOptions,
): StartedController {
  const { broker } = options;
  const env = controllerEnv({
    url: broker.url,
    host: broker.host,
    port: broker.port,
    tank: options.tank,
    root: options.root,
  });
  if (options.credentials) {
    env.MQTT_USERNAME = options.credentials.username;
    env.MQTT_PASSWORD = options.credentials.password;
  }
  let run = command;
  let processEnv = env;
  let confined: string | undefined;
  let wallLimitMs = Infinity;
  let runUser: RunUser | undefined;
  let pidNamespace = false;
  if (options.sandbox !== false) {
    const user = allocateRunUser();
    const box = sandbox(command, {
      ...(user ? { user } : {}),
      host: broker.host,
      port: broker.port,
      env,
      cwd: Deno.cwd(),
      readable: [PRELOAD_DIR],
      ...(options.sandbox ? { limits: options.sandbox } : {}),
    });
    run = box.command;
    processEnv = box.env;
    wallLimitMs = 1000 * sandboxLimits(options.sandbox || {}).wallSeconds;
    confined = box.description;
    runUser = box.user;
    pidNamespace = box.pidNamespace ?? false;
    // A command that keeps the harness's uid (a `deno …` command line) did not take the user: its folder goes now.
    if (user && !runUser) Deno.removeSync(user.home, { recursive: true });
  }
  const process = ControllerProcess.start(run, {
    ...(runUser ? { runUser } : {}),
    ...(pidNamespace ? { namespaceInit: true } : {}),
    env: processEnv,
    clearEnv: options.sandbox !== false,
    ...(options.onOutput ? { onLine: options.onOutput } : {}),
  });
  return { process, confined, wallLimitMs };
}

/** The last words a program printed on stderr, without stack frames (usually the error itself): ": a | b", or "". */
export function lastWords(stderr: string): string {
  const last = stderr.split("\n")
    .map((line) => line.trim())
    .filter((line) => line && !/^at\s|^File "|^\^+$|^Traceback/.test(line))
    .slice(-2)
    .join(" | ");
  return last ? `: ${last}` : "";
}
