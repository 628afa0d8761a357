/**
 * `deno task serve --cert --key`: the class server over HTTPS with a certificate for 127.0.0.1 signed by a school's own
 * certificate authority, both made by Debian's openssl. A client that trusts the certificate opens the pages; the teacher's and the student's cookies are marked
 * Secure; plain HTTP on the same port gets no page; `deno task submit` (trusting the certificate through `DENO_CERT`)
 * submits and prints the grade. Bad certificate options are refused with the flag named.
 */

import assert from "node:assert/strict";
import { ignoreWithout } from "./_peers.ts";
import { certificates, OPENSSL } from "./_certificates.ts";
import {
  classFolder,
  type ServeProcess,
  startServe,
  TEACHER_PASSWORD,
} from "./_class_server.ts";

async function serveCli(
  args: string[],
): Promise<{ code: number; err: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "cli/serve.ts", "--port", "0", ...args],
    stdout: "null",
    stderr: "piped",
    env: { FISHTANK_TEACHER_PASSWORD: TEACHER_PASSWORD },
  }).output();
  return { code: out.code, err: new TextDecoder().decode(out.stderr) };
}

Deno.test({
  name:
    "deno task serve --cert --key: HTTPS pages, Secure cookies, no plain HTTP, deno task submit over HTTPS; bad certificate options refused",
  ignore: ignoreWithout(OPENSSL, "openssl"),
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const dir = await classFolder();
  let serve: ServeProcess | undefined;
  try {
    const { ca, cert, key } = await certificates(dir);

    const onlyCert = await serveCli(["--db", `${dir}/x.kv`, "--cert", cert]);
    assert.equal(onlyCert.code, 2);
    assert.match(onlyCert.err, /--cert and --key go together: got only --cert/);
    const notPem = await serveCli([
      "--db",
      `${dir}/x.kv`,
      "--cert",
      `${dir}/roster.csv`,
      "--key",
      key,
    ]);
    assert.equal(notPem.code, 2);
    assert.match(
      notPem.err,
      /--cert: ".*roster\.csv" is not a PEM file with a CERTIFICATE block/,
    );

    serve = await startServe(dir, {
      workers: 1,
      assignments: "tests/fixtures/class/pool_assignment.yaml",
      args: ["--cert", cert, "--key", key],
    });
    const { url, tokens } = serve;
    assert.match(url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const client = Deno.createHttpClient({
      caCerts: [await Deno.readTextFile(ca)],
    });
    try {
      const page = await fetch(`${url}/class`, { client });
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<html/i);

      const login = await fetch(`${url}/login`, {
        client,
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ password: TEACHER_PASSWORD }),
        redirect: "manual",
      });
      await login.body?.cancel();
      assert.equal(login.status, 303);
      const teacherCookies = login.headers.getSetCookie();
      assert.ok(teacherCookies.length > 0);
      for (const c of teacherCookies) assert.match(c, /; Secure$/, c);

      const token = [...tokens.values()][0]!;
      const signin = await fetch(`${url}/api/class/signin`, {
        client,
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ token }),
      });
      await signin.body?.cancel();
      assert.equal(signin.status, 200);
      for (const c of signin.headers.getSetCookie()) {
        assert.match(c, /; Secure$/, c);
      }
    } finally {
      client.close();
    }

    // Plain HTTP on the HTTPS port: no page.
    const plain = await fetch(url.replace("https:", "http:") + "/class")
      .then(async (r) => `${r.status} ${await r.text()}`)
      .catch((e) => `refused: ${e}`);
    assert.doesNotMatch(plain, /^200 /);

    // A student's terminal: deno task submit, trusting the teacher's certificate.
    const submit = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "cli/submit.ts",
        "--server",
        url,
        "--assignment",
        "pool",
        "examples/thermostat.py",
      ],
      env: { FISHTANK_TOKEN: [...tokens.values()][1]!, DENO_CERT: ca },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const printed = new TextDecoder().decode(submit.stdout) +
      new TextDecoder().decode(submit.stderr);
    assert.ok([0, 1].includes(submit.code), `exit ${submit.code}: ${printed}`);
    assert.match(printed, /Submitted thermostat\.py to pool/);
    assert.match(printed, /\d+\.\d \/ 100 {2}(PASS|FAIL)/);
  } finally {
    await serve?.child.kill();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
