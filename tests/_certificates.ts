/**
 * Certificates for tests of TLS: a school's own certificate authority and a server certificate for 127.0.0.1 signed by
 * it, made by Debian's openssl (the class server over HTTPS, nats-server over TLS).
 *
 * @module
 */

import assert from "node:assert/strict";
import { hasCommand } from "./_peers.ts";

/** Whether Debian's openssl is here. */
export const OPENSSL = hasCommand("openssl", ["version"]);

/** Runs openssl with `args`; fails the test with its error output when it fails. */
async function openssl(args: string[]): Promise<void> {
  const made = await new Deno.Command("openssl", {
    args,
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.ok(made.success, new TextDecoder().decode(made.stderr));
}

/**
 * A school's own certificate authority and, signed by it, the server's certificate for 127.0.0.1 and its key, in
 * `dir`: what a teacher makes once for a classroom network (the students' machines trust `ca`).
 */
export async function certificates(
  dir: string,
): Promise<{ ca: string; cert: string; key: string }> {
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
  const ca = `${dir}/ca.pem`;
  await openssl([
    "req",
    "-x509",
    ...ec,
    "-nodes",
    "-days",
    "2",
    "-subj",
    "/CN=Fish tank test school CA",
    "-keyout",
    `${dir}/ca.key`,
    "-out",
    ca,
  ]);
  const key = `${dir}/key.pem`;
  await openssl([
    "req",
    ...ec,
    "-nodes",
    "-subj",
    "/CN=127.0.0.1",
    "-keyout",
    key,
    "-out",
    `${dir}/server.csr`,
  ]);
  await Deno.writeTextFile(
    `${dir}/server.ext`,
    "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
  );
  const cert = `${dir}/cert.pem`;
  await openssl([
    "x509",
    "-req",
    "-in",
    `${dir}/server.csr`,
    "-CA",
    ca,
    "-CAkey",
    `${dir}/ca.key`,
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    `${dir}/server.ext`,
    "-out",
    cert,
  ]);
  return { ca, cert, key };
}
