/**
 * The nesting depth and the aliases of a YAML text, checked before any document is composed: yaml's parser slows down
 * with depth (a megabyte of `[` takes it 16 s) and its composer is recursive. A first pass over the lexer's tokens
 * stops at the first token past a limit; a second walks the concrete syntax tree, with a stack of its own, for the
 * exact depth.
 *
 * @module
 */

import { CST, Lexer, LineCounter, Parser } from "yaml";
import { SCENARIO_LIMITS } from "./scenario_limits.ts";

/** A problem of the file as a whole, with its line when known. */
export interface ShapeProblem {
  message: string;
  line?: number;
}

type Item = { key?: CST.Token | null; value?: CST.Token | null };

function _items(token: CST.Token): readonly Item[] | undefined {
  switch (token.type) {
    case "block-map":
    case "block-seq":
    case "flow-collection":
      return token.items as readonly Item[];
    default:
      return undefined;
  }
}

function _depthMessage(maxDepth: number): string {
  return `YAML nested more than ${maxDepth} levels deep; at most ${maxDepth} are allowed (a scenario needs 4)`;
}

function _aliasMessage(maxAliases: number): string {
  return `more than ${maxAliases} YAML aliases (*name); at most ${maxAliases} are allowed`;
}

/** Tokens the lexer emits that take no room in the text. */
const ZERO_WIDTH: ReadonlySet<string | null> = new Set([
  "byte-order-mark",
  "doc-mode",
  "scalar",
  "flow-error-end",
]);
/** Tokens that are not the start of a node. */
const NOT_CONTENT: ReadonlySet<string | null> = new Set([
  ...ZERO_WIDTH,
  "space",
  "comment",
  "newline",
  "doc-start",
  "doc-end",
  "directive-line",
  "map-value-ind",
  "comma",
  "flow-seq-end",
  "flow-map-end",
]);

/**
 * One pass over the lexer's tokens, stopping at the first past a limit: aliases counted, flow brackets counted, and
 * block nesting estimated from the columns where nodes start (a node further right than the one before it is inside
 * it). Linear in the text, whatever its shape.
 */
export function lexedShapeProblem(text: string): ShapeProblem | undefined {
  const { maxDepth, maxAliases } = SCENARIO_LIMITS;
  const blocks: number[] = [];
  let flow = 0;
  let aliases = 0;
  let line = 1;
  let column = 0;
  // A node may start here: at the start of a line, or after "- " or "? " on it.
  let nodeMayStart = true;
  for (const source of new Lexer().lex(text)) {
    const type = CST.tokenType(source);
    if (type === "alias" && ++aliases > maxAliases) {
      return { message: _aliasMessage(maxAliases), line };
    }
    if (type === "doc-start") blocks.length = 0;
    if (flow === 0 && nodeMayStart && !NOT_CONTENT.has(type)) {
      while (blocks.length > 0 && blocks.at(-1)! >= column) blocks.pop();
      blocks.push(column);
      nodeMayStart = type === "seq-item-ind" || type === "explicit-key-ind";
    }
    if (type === "flow-seq-start" || type === "flow-map-start") flow++;
    if ((type === "flow-seq-end" || type === "flow-map-end") && flow > 0) {
      flow--;
    }
    if (blocks.length + flow > maxDepth) {
      return { message: _depthMessage(maxDepth), line };
    }
    if (ZERO_WIDTH.has(type)) continue;
    const lastNewline = source.lastIndexOf("\n");
    if (lastNewline < 0) {
      column += source.length;
    } else {
      for (
        let i = source.indexOf("\n");
        i >= 0;
        i = source.indexOf("\n", i + 1)
      ) {
        line++;
      }
      column = source.length - lastNewline - 1;
      nodeMayStart = true;
    }
  }
  return undefined;
}

/**
 * The first limit the text breaks: nesting deeper than `maxDepth` mappings and lists, or more than `maxAliases`
 * aliases; undefined when it keeps both. Syntax errors are left to the parser that follows.
 */
export function yamlShapeProblem(text: string): ShapeProblem | undefined {
  const lexed = lexedShapeProblem(text);
  if (lexed !== undefined) return lexed;
  const { maxDepth, maxAliases } = SCENARIO_LIMITS;
  const counter = new LineCounter();
  const lineOf = (offset: number) => counter.linePos(offset).line;
  let aliases = 0;
  for (const document of new Parser(counter.addNewLine).parse(text)) {
    if (document.type !== "document" || !document.value) continue;
    const stack: { token: CST.Token; depth: number }[] = [{
      token: document.value,
      depth: 0,
    }];
    while (stack.length > 0) {
      const { token, depth } = stack.pop()!;
      if (token.type === "alias" && ++aliases > maxAliases) {
        return {
          message: _aliasMessage(maxAliases),
          line: lineOf(token.offset),
        };
      }
      const items = _items(token);
      if (items === undefined) continue;
      if (depth + 1 > maxDepth) {
        return {
          message: _depthMessage(maxDepth),
          line: lineOf(token.offset),
        };
      }
      for (const item of items) {
        if (item.key) stack.push({ token: item.key, depth: depth + 1 });
        if (item.value) stack.push({ token: item.value, depth: depth + 1 });
      }
    }
  }
  return undefined;
}
