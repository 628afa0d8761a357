/**
 * What a controller printed: its output split into lines as it arrives, the newest kept up to a byte limit.
 *
 * @module
 */

const _encoder = new TextEncoder();

/**
 * The tail of one output stream. Lines longer than {@linkcode OutputTail.maxLine} bytes are cut into pieces, so that a
 * program printing without newlines cannot make the partial line grow without bound.
 */
export class OutputTail {
  /** Longest piece kept as one line, in bytes (at most 64 KiB, never more than the limit). */
  readonly maxLine: number;
  readonly #limit: number;
  readonly #lines: { text: string; bytes: number }[] = [];
  #first = 0;
  #kept = 0;
  #droppedBytes = 0;
  #droppedLines = 0;
  #partial = "";

  constructor(readonly name: string, limitBytes: number) {
    if (!Number.isFinite(limitBytes) || limitBytes < 1) {
      throw new RangeError(
        `outputLimitBytes: expected a positive number, got ${limitBytes}`,
      );
    }
    this.#limit = limitBytes;
    this.maxLine = Math.min(65_536, limitBytes);
  }

  /** Adds decoded text; returns the lines it completed (without their `\n` or `\r\n`). */
  push(text: string): string[] {
    const done: string[] = [];
    let rest = this.#partial + text;
    for (;;) {
      const newline = rest.indexOf("\n");
      if (newline < 0) break;
      done.push(rest.slice(0, newline).replace(/\r$/, ""));
      rest = rest.slice(newline + 1);
    }
    // A UTF-16 length above maxLine is a cheap bound: a code unit is at least one UTF-8 byte.
    while (rest.length > this.maxLine) {
      done.push(rest.slice(0, this.maxLine));
      rest = rest.slice(this.maxLine);
    }
    this.#partial = rest;
    for (const line of done) this.#keep(line);
    return done;
  }

  /** The stream has ended: the unfinished last line, if any, becomes a line. */
  end(): string[] {
    const rest = this.#partial;
    this.#partial = "";
    if (rest === "") return [];
    this.#keep(rest);
    return [rest];
  }

  /** The kept text, one `\n` after each line, with a first line saying how much was dropped, if anything was. */
  text(): string {
    const lines = this.#lines.slice(this.#first).map((line) => line.text);
    if (this.#partial !== "") lines.push(this.#partial);
    const body = lines.length === 0 ? "" : `${lines.join("\n")}\n`;
    if (this.#droppedBytes === 0) return body;
    return `[… ${this.#droppedBytes} bytes (${this.#droppedLines} lines) of ${this.name} dropped …]\n${body}`;
  }

  /** The last `count` complete or partial lines, oldest first. */
  last(count: number): string[] {
    const lines = this.#lines.slice(
      Math.max(this.#first, this.#lines.length - count),
    ).map((line) => line.text);
    if (this.#partial !== "") lines.push(this.#partial);
    return lines.slice(-count);
  }

  #keep(text: string): void {
    const bytes = _encoder.encode(text).length + 1;
    this.#lines.push({ text, bytes });
    this.#kept += bytes;
    while (this.#kept > this.#limit && this.#first < this.#lines.length - 1) {
      const dropped = this.#lines[this.#first++]!;
      this.#kept -= dropped.bytes;
      this.#droppedBytes += dropped.bytes;
      this.#droppedLines++;
    }
    // Compact now and then instead of shifting the array on every drop.
    if (this.#first > 1024 && this.#first * 2 > this.#lines.length) {
      this.#lines.splice(0, this.#first);
      this.#first = 0;
    }
  }
}

/** Text without terminal colour codes. */
export function plain(line: string): string {
  // deno-lint-ignore no-control-regex
  return line.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "");
}

/**
 * The lines worth quoting from the end of an output, indented: from the last line that names an error (a Python
 * traceback ends with it; Deno and Node print it above their stack frames), at most six lines; else the last three.
 * Null when there is nothing to quote.
 */
export function lastWords(lines: string[]): string | null {
  const text = lines.map(plain).filter((line) => line.trim() !== "");
  if (text.length === 0) return null;
  const errorAt = text.findLastIndex((line) =>
    /error|exception|panic|fatal|traceback/i.test(line) &&
    !/^\s+at /.test(line)
  );
  const quoted = errorAt < 0
    ? text.slice(-3)
    : text.slice(errorAt, errorAt + 6);
  return quoted.map((line) => `  ${line}`).join("\n");
}
