import assert from "node:assert/strict";
import { zipSync } from "fflate";
import {
  chooseStart,
  controllerCommand,
  safePath,
  SUBMISSION_LIMITS,
  unpackUpload,
} from "./submission_files.ts";

const text = (s: string) => new TextEncoder().encode(s);

Deno.test("unpackUpload() takes one file as it is, and a zip's files without folders or __MACOSX", () => {
  assert.deepEqual(unpackUpload("dir/ctl.py", text("x")), [
    { path: "ctl.py", data: text("x") },
  ]);
  const zip = zipSync({
    "src/main.py": text("import lib"),
    "src/lib.py": text("x = 1"),
    "__MACOSX/._main.py": text("junk"),
  });
  const files = unpackUpload("work.zip", zip);
  assert.deepEqual(files.map((f) => f.path), ["src/lib.py", "src/main.py"]);
});

Deno.test("unpackUpload() refuses unsafe paths, too many files and zip bombs", () => {
  assert.throws(
    () => unpackUpload("evil.zip", zipSync({ "../etc/passwd": text("x") })),
    /not a safe relative path/,
  );
  const many: Record<string, Uint8Array> = {};
  for (let i = 0; i <= SUBMISSION_LIMITS.files; i++) {
    many[`f${i}.py`] = text("");
  }
  assert.throws(() => unpackUpload("many.zip", zipSync(many)), /more than/);
  // 9 MB of zeros compress to a few kB.
  const bomb = zipSync({ "big.py": new Uint8Array(9 * 1024 * 1024) }, {
    level: 9,
  });
  assert.ok(bomb.length < SUBMISSION_LIMITS.uploadBytes);
  assert.throws(() => unpackUpload("bomb.zip", bomb), /extracts to more than/);
  assert.throws(
    () =>
      unpackUpload("big.py", new Uint8Array(SUBMISSION_LIMITS.uploadBytes + 1)),
    RangeError,
  );
  assert.throws(() => unpackUpload("bad.zip", text("not a zip")), TypeError);
});

Deno.test("safePath() keeps plain relative paths only (they go into a command line)", () => {
  assert.equal(safePath("./a/b_c-1.py"), "a/b_c-1.py");
  for (
    const bad of [
      "/abs.py",
      "a/../b.py",
      "a b.py",
      "x;rm.py",
      "a//b",
      "$(x).py",
    ]
  ) {
    assert.equal(safePath(bad), undefined, bad);
  }
});

Deno.test("chooseStart() picks the one startable file, checks the allowed kinds, and asks for an entry when several fit", () => {
  const files = [
    { path: "ctl.py", data: text("") },
    { path: "README.md", data: text("") },
  ];
  assert.deepEqual(chooseStart(files, ["python3"]), {
    kind: "python3",
    entry: "ctl.py",
  });
  assert.throws(() => chooseStart(files, ["deno"]), /no file to start/);
  const two = [...files, { path: "other.py", data: text("") }];
  assert.throws(() => chooseStart(two, ["python3"]), /say which/);
  assert.deepEqual(chooseStart(two, ["python3"], { entry: "other.py" }), {
    kind: "python3",
    entry: "other.py",
  });
  assert.throws(
    () => chooseStart(files, ["python3"], { entry: "ctl.py", kind: "deno" }),
    /not allowed/,
  );
  assert.throws(
    () => chooseStart(files, ["python3"], { entry: "nope.py" }),
    /not a file/,
  );
});

Deno.test("controllerCommand() runs python3 FILE, a .ts file alone, a flow through the Node-RED runner", () => {
  assert.equal(
    controllerCommand("/tmp/j", { kind: "python3", entry: "a/c.py" }),
    "python3 '/tmp/j/a/c.py'",
  );
  assert.equal(
    controllerCommand("/tmp/j", { kind: "deno", entry: "c.ts" }),
    "/tmp/j/c.ts",
  );
  assert.equal(
    controllerCommand("/tmp/j", { kind: "node-red", entry: "f.json" }, {
      runner: "/r/run.sh",
    }),
    "FLOWS='/tmp/j/f.json' bash '/r/run.sh'",
  );
});
