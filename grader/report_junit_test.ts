import assert from "node:assert/strict";
import { escapeXml, toJUnit } from "./report_junit.ts";
import { sampleGrades } from "./_testing.ts";

interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  text: string;
  children: XmlElement[];
}

const ENTITY = /&(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g;

function unescape(text: string): string {
  return text.replace(
    ENTITY,
    (entity) =>
      ({
        "&amp;": "&",
        "&lt;": "<",
        "&gt;": ">",
        "&quot;": '"',
        "&apos;": "'",
      })[
        entity
      ] ?? entity,
  );
}

/**
 * A tiny XML reader for the tests: one declaration, then elements with double-quoted attributes and text. Throws on
 * anything not well-formed: unbalanced tags, a raw `<` or `&` in text or attributes, stray characters.
 */
function parseXml(xml: string): XmlElement {
  const declaration = /^<\?xml version="1\.0" encoding="UTF-8"\?>\n/;
  assert.match(xml, declaration);
  const token =
    /<\/([A-Za-z][\w.-]*)>|<([A-Za-z][\w.-]*)((?:\s+[\w.-]+="[^"<]*")*)\s*(\/?)>|([^<]+)/y;
  const root: XmlElement = {
    name: "#root",
    attributes: {},
    text: "",
    children: [],
  };
  const stack = [root];
  let position = xml.match(declaration)![0].length;
  while (position < xml.length) {
    token.lastIndex = position;
    const match = token.exec(xml);
    if (match === null) {
      throw new SyntaxError(
        `not well-formed at ${position}: ${xml.slice(position, position + 40)}`,
      );
    }
    position = token.lastIndex;
    const [, close, open, attributes, selfClosing, text] = match;
    const top = stack.at(-1)!;
    if (text !== undefined) {
      if (text.replace(ENTITY, "").includes("&")) {
        throw new SyntaxError(`raw & in ${JSON.stringify(text)}`);
      }
      top.text += unescape(text);
    } else if (close !== undefined) {
      if (top.name !== close) {
        throw new SyntaxError(`</${close}> closes <${top.name}>`);
      }
      stack.pop();
    } else {
      const element: XmlElement = {
        name: open!,
        attributes: {},
        text: "",
        children: [],
      };
      for (
        const [, key, value] of attributes!.matchAll(/([\w.-]+)="([^"]*)"/g)
      ) {
        if (value!.replace(ENTITY, "").includes("&")) {
          throw new SyntaxError(`raw & in ${key}`);
        }
        element.attributes[key!] = unescape(value!);
      }
      top.children.push(element);
      if (selfClosing !== "/") stack.push(element);
    }
  }
  if (stack.length !== 1) {
    throw new SyntaxError(`<${stack.at(-1)!.name}> is not closed`);
  }
  assert.equal(root.children.length, 1, "one document element");
  return root.children[0]!;
}

Deno.test("toJUnit() is well-formed: one testcase per scenario, a failure for each that did not pass", () => {
  const grades = sampleGrades();
  const xml = toJUnit(grades, { suiteName: "fishtank" });
  assert.equal(xml.match(/<testcase\b/g)?.length, 3);
  assert.equal(xml.match(/<failure\b/g)?.length, 2);
  const suites = parseXml(xml);
  assert.equal(suites.name, "testsuites");
  assert.deepEqual(suites.attributes, {
    name: "fishtank",
    tests: "3",
    failures: "2",
    errors: "0",
    time: "180.000",
  });
  const suite = suites.children[0]!;
  assert.equal(suite.name, "testsuite");
  const cases = suite.children;
  assert.deepEqual(cases.map((c) => c.attributes.name), [
    "test-day v1: Test day",
    'test-day v1: Tom & "Jerry" <3',
    "test-day v1: Test day",
  ]);
  assert.deepEqual(cases.map((c) => c.attributes.classname), [
    "fishtank.test-day",
    "fishtank.test-day",
    "fishtank.test-day",
  ]);
  assert.deepEqual(cases.map((c) => c.attributes.time), [
    "90.000",
    "90.000",
    undefined,
  ]);
  assert.deepEqual(cases[0]!.children.map((c) => c.name), ["system-out"]);

  const failure = cases[1]!.children[0]!;
  assert.equal(failure.name, "failure");
  assert.equal(failure.attributes.type, "below_pass_mark");
  assert.match(
    failure.attributes.message!,
    /^score \d+\.\d < pass mark 60 \(temperature \d+ %, alarms 0 %\): temperature \d+\.\d % in range \(\d+(\.\d+)? K·h outside\); heater \d+ Wh; .*0\/1 faults alarmed in time; 1 false alarm$/,
  );
  assert.ok(
    failure.text.includes(`<b>"x" & 'y'</b> | tank`),
    "the alarm's text comes back unchanged after escaping",
  );

  const crashed = cases[2]!.children[0]!;
  assert.equal(crashed.attributes.type, "crashed");
  assert.match(
    crashed.attributes.message!,
    /^run crashed \(the controller exited with code 1 Traceback: boom\); score/,
  );
});

Deno.test("toJUnit() escapes <&\"' in attributes and text", () => {
  const xml = toJUnit(sampleGrades(), { suiteName: `a<b & "c"` });
  assert.ok(xml.includes('name="a&lt;b &amp; &quot;c&quot;"'));
  assert.ok(xml.includes("Tom &amp; &quot;Jerry&quot; &lt;3"));
  assert.ok(
    xml.includes("&lt;b&gt;&quot;x&quot; &amp; &apos;y&apos;&lt;/b&gt;"),
  );
  assert.ok(!xml.includes("<b>"));
  parseXml(xml);
});

Deno.test("escapeXml() replaces characters XML cannot carry", () => {
  assert.equal(escapeXml("a\u0000b\u001bc\td\ne"), "a\uFFFDb\uFFFDc\td\ne");
  assert.equal(escapeXml("\uD800x"), "\uFFFDx");
  assert.equal(escapeXml("😀"), "😀");
});

Deno.test("toJUnit() reports a harness failure as an error, not a failure", () => {
  const [perfect] = sampleGrades();
  const xml = toJUnit([{
    ...perfect!,
    pass: false,
    outcome: "error",
    outcomeMessage: "KV full",
  }], {
    suiteName: "fishtank",
  });
  const suites = parseXml(xml);
  assert.equal(suites.attributes.errors, "1");
  assert.equal(suites.attributes.failures, "0");
  assert.equal(suites.children[0]!.children[0]!.children[0]!.name, "error");
});
