import assert from "node:assert/strict";
import { join } from "node:path";
import {
  parseSimArgs,
  RIG_PASSWORDS_ENV,
  UsageError,
  withScenarioRigs,
} from "./_sim_args.ts";

Deno.test("parseSimArgs(): --rig is repeatable, --rig-control-from names the tank the rigs follow", () => {
  const options = parseSimArgs([
    "--rig",
    "rig1",
    "--rig=rig2",
    "--rig-control-from",
    "tank1",
  ]);
  assert.deepEqual(options.rigs, ["rig1", "rig2"]);
  assert.equal(options.rigControlFrom, "tank1");
  assert.deepEqual(options.rigPasswords, {}, "open mode needs no passwords");
  assert.deepEqual(parseSimArgs([]).rigs, []);
});

Deno.test("parseSimArgs(): a rig id that is a simulated tank's, a role's, given twice or not one level is refused", () => {
  for (
    const [args, message] of [
      [["--rig", "tank1"], /simulated tank's id/],
      [["--tanks", "3", "--rig", "tank2"], /simulated tank's id/],
      [["--rig", "viewer"], /role's user name/],
      [["--rig", "a", "--rig", "a"], /given twice/],
      [["--rig", "a/b"], /single topic level/],
      [["--rig-control-from", "tank1"], /no rig to follow it/],
      [["--rig-password", "x", "--rig", "r"], /FISHTANK_RIG_PASSWORDS/],
    ] as const
  ) {
    assert.throws(
      () => parseSimArgs([...args]),
      (error: Error) =>
        error instanceof UsageError && message.test(error.message),
      args.join(" "),
    );
  }
});

Deno.test("parseSimArgs(): with --lock the rigs' passwords come from a file, the environment, or are made up and printed", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "rigs.txt");
    await Deno.writeTextFile(file, "# rigs\nrig1:one:with:colons\n\n");
    const fromFile = parseSimArgs([
      "--lock",
      "--rig=rig1",
      "--rig=rig2",
      `--rig-password-file=${file}`,
    ]);
    assert.deepEqual(fromFile.rigPasswordsFrom, {
      rig1: "file",
      rig2: "generated",
    });
    assert.equal(fromFile.rigPasswords.rig1, "one:with:colons");
    assert.match(fromFile.rigPasswords.rig2!, /^\S{8}$/);

    await Deno.writeTextFile(file, "rig9:x\n");
    assert.throws(
      () =>
        parseSimArgs(["--lock", "--rig=rig1", `--rig-password-file=${file}`]),
      /a password for "rig9", which is not a rig/,
    );
    await Deno.writeTextFile(file, "rig1\n");
    assert.throws(
      () =>
        parseSimArgs(["--lock", "--rig=rig1", `--rig-password-file=${file}`]),
      /line 1: expected "id:password"/,
    );

    Deno.env.set(RIG_PASSWORDS_ENV, "rig1:from-env");
    try {
      const fromEnv = parseSimArgs(["--lock", "--rig=rig1"]);
      assert.equal(fromEnv.rigPasswords.rig1, "from-env");
      assert.equal(fromEnv.rigPasswordsFrom.rig1, "environment");
    } finally {
      Deno.env.delete(RIG_PASSWORDS_ENV);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("withScenarioRigs(): a scenario's rigs join those of --rig, are checked like them, and get passwords with --lock", () => {
  const scenario = { rigs: ["rig2", "rig1"], file: "class-day.yaml" };
  const open = withScenarioRigs(parseSimArgs(["--rig", "rig1"]), scenario);
  assert.deepEqual(open.rigs, ["rig1", "rig2"]);
  assert.deepEqual(open.rigPasswords, {});
  const locked = withScenarioRigs(parseSimArgs(["--lock"]), scenario);
  assert.deepEqual(Object.keys(locked.rigPasswords).sort(), ["rig1", "rig2"]);
  assert.throws(
    () =>
      withScenarioRigs(parseSimArgs(["--tanks", "2"]), {
        rigs: ["tank2"],
        file: "class-day.yaml",
      }),
    (error: unknown) =>
      error instanceof UsageError &&
      /^class-day\.yaml: rigs: "tank2" is a simulated tank's id/.test(
        error.message,
      ),
  );
});
