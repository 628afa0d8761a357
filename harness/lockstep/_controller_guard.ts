/**
 * A watchdog that ends a controller's process group when the harness dies without stopping it.
 *
 * A controller runs in a process group of its own, so that stopping it reaches its children; the price is that the
 * terminal's Ctrl+C no longer reaches it, and a harness that crashes or is killed would leave it running (a controller
 * that sleeps until killed would live forever). The guard is a tiny `sh` that reads its stdin, a pipe only this
 * process writes to: when this process ends, however it ends, the pipe closes, `read` returns and the guard sends the
 * group SIGTERM, then SIGKILL two seconds later. It ignores the terminal's signals so that Ctrl+C does not end it
 * before it has done its job.
 *
 * @module
 */

const _GUARD_SCRIPT = `trap '' INT TERM HUP QUIT
read _ || :
kill -s TERM -- "-$1" 2>/dev/null || exit 0
sleep 2
kill -s KILL -- "-$1" 2>/dev/null
exit 0`;

/** A running guard for one process group. */
export class ControllerGuard {
  readonly #process: Deno.ChildProcess;
  #released: Promise<void> | null = null;

  private constructor(process: Deno.ChildProcess) {
    this.#process = process;
  }

  /** Starts a guard for process group `pgid`; null when it cannot (no `/bin/sh`): the controller still runs. */
  static start(pgid: number): ControllerGuard | null {
    if (!Number.isInteger(pgid) || pgid <= 1) {
      throw new RangeError(
        `pgid: expected a process group id > 1, got ${pgid}`,
      );
    }
    try {
      return new ControllerGuard(
        new Deno.Command("/bin/sh", {
          args: [
            "-c",
            _GUARD_SCRIPT,
            "fishtank-controller-guard",
            String(pgid),
          ],
          stdin: "piped",
          stdout: "null",
          stderr: "null",
        }).spawn(),
      );
    } catch {
      return null;
    }
  }

  /** The controller has ended: stops the guard without letting it signal anything. Idempotent. */
  release(): Promise<void> {
    this.#released ??= (async () => {
      try {
        this.#process.kill("SIGKILL");
      } catch {
        // Already gone.
      }
      await this.#process.stdin.close().catch(() => {});
      await this.#process.status;
    })();
    return this.#released;
  }
}
