import assert from "node:assert/strict";
import { asTyped, execForm } from "./_controller_shell.ts";

Deno.test("execForm() puts exec before one plain command, quoted or not", () => {
  for (
    const command of [
      "python3 my_controller.py",
      '"/opt/my deno/deno" run --allow-net x.ts',
      "node 'my controller.js' --name=tank1",
      "./controller --url mqtt://127.0.0.1:1883",
      "java -jar target/c.jar \\; x",
      'python3 -c "$SCRIPT"',
    ]
  ) assert.equal(execForm(command), `exec ${command}`, command);
});

Deno.test("execForm() leaves lists, pipes, redirections, assignments and builtins to the shell", () => {
  for (
    const command of [
      "cd sub && python3 x.py",
      "python3 x.py; echo done",
      "python3 x.py | tee log",
      "python3 x.py 2>&1",
      "python3 x.py > log",
      "(python3 x.py)",
      "FOO=1 python3 x.py",
      "exit 3",
      "trap '' TERM; sleep 100",
      "source venv/bin/activate",
      ". venv/bin/activate",
      "echo `date`",
      "if true; then echo; fi",
      "python3 'unterminated",
      "python3 x.py\npython3 y.py",
      "   ",
    ]
  ) assert.equal(execForm(command), command, command);
});

Deno.test("asTyped() hides the /bin/ and the exec we added from the shell's error message", () => {
  assert.equal(
    asTyped("/bin/sh: 1: exec: pyhton3: not found"),
    "sh: 1: pyhton3: not found",
  );
  assert.equal(
    asTyped("sh: line 1: exec: x: not found"),
    "sh: line 1: x: not found",
  );
  assert.equal(asTyped("exec: fine"), "exec: fine");
});
