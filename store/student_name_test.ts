import assert from "node:assert/strict";
import { gitUserName, loginName, studentName } from "./student_name.ts";

const none = {
  gitUserName: () => Promise.resolve(undefined),
  loginName: () => undefined,
};

Deno.test("studentName() takes --name first, trimmed, even when git knows a name", async () => {
  assert.equal(
    await studentName("  Ada L. ", {
      gitUserName: () => Promise.resolve("Git Name"),
    }),
    "Ada L.",
  );
});

Deno.test('studentName() falls back from a blank --name to git, then the login, then "student"', async () => {
  assert.equal(
    await studentName("  ", {
      ...none,
      gitUserName: () => Promise.resolve("Grace Hopper"),
      loginName: () => "grace",
    }),
    "Grace Hopper",
  );
  assert.equal(
    await studentName(undefined, { ...none, loginName: () => "grace" }),
    "grace",
  );
  assert.equal(await studentName(undefined, none), "student");
});

Deno.test("gitUserName() reads git's user.name, and gives undefined when git has none or is missing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fishtank-git-" });
  try {
    const env = {
      GIT_CONFIG_GLOBAL: `${dir}/gitconfig`,
      GIT_CONFIG_NOSYSTEM: "1",
      HOME: dir,
    };
    await Deno.writeTextFile(env.GIT_CONFIG_GLOBAL, "");
    assert.equal(await gitUserName({ cwd: dir, env }), undefined);
    await Deno.writeTextFile(
      env.GIT_CONFIG_GLOBAL,
      "[user]\n\tname = Ada Lovelace\n",
    );
    assert.equal(await gitUserName({ cwd: dir, env }), "Ada Lovelace");
    // Without git on PATH the source is skipped, not an error.
    assert.equal(
      await gitUserName({ cwd: dir, env: { ...env, PATH: dir } }),
      undefined,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loginName() reads USER, then USERNAME", () => {
  const saved = {
    USER: Deno.env.get("USER"),
    USERNAME: Deno.env.get("USERNAME"),
  };
  try {
    Deno.env.set("USER", "  lin ");
    assert.equal(loginName(), "lin");
    Deno.env.delete("USER");
    Deno.env.set("USERNAME", "win-user");
    assert.equal(loginName(), "win-user");
    Deno.env.delete("USERNAME");
    // The OS account still has a name.
    assert.equal(typeof loginName(), "string");
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) Deno.env.delete(name);
      else Deno.env.set(name, value);
    }
  }
});
