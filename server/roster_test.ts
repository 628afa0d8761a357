import assert from "node:assert/strict";
import {
  hashToken,
  newToken,
  parseRosterCsv,
  studentSlug,
  tokensCsv,
} from "./roster.ts";

Deno.test("parseRosterCsv() reads name,group lines with an optional header, quotes, comments and blank lines", () => {
  const text =
    'name,group\n\nAda Lovelace,7A\n# a comment\n"Hopper, Grace",7B\nAlan Turing\n';
  assert.deepEqual(parseRosterCsv(text), [
    { name: "Ada Lovelace", group: "7A" },
    { name: "Hopper, Grace", group: "7B" },
    { name: "Alan Turing", group: "" },
  ]);
});

Deno.test("parseRosterCsv() names the line of an empty or repeated name", () => {
  assert.throws(() => parseRosterCsv("Ada,7A\n,7B", "r.csv"), /r\.csv:2/);
  assert.throws(() => parseRosterCsv("Ada,7A\nAda,7B", "r.csv"), /twice/);
});

Deno.test("tokens are random, recognisable, and stored as a SHA-256 hash", async () => {
  const a = newToken();
  assert.match(a, /^ft_[A-Za-z0-9_-]{43}$/);
  assert.notEqual(a, newToken());
  const hash = await hashToken(a);
  assert.match(hash, /^[0-9a-f]{64}$/);
  assert.ok(!hash.includes(a.slice(3)));
});

Deno.test("studentSlug() and tokensCsv()", () => {
  assert.equal(studentSlug("Zoë O'Neil"), "zoe-o-neil");
  assert.equal(
    tokensCsv([{ name: "Hopper, Grace", group: "7B", token: "ft_x" }]),
    'name,group,token\n"Hopper, Grace",7B,ft_x\n',
  );
});
