/**
 * Running a student's command line through `sh -c` so that, when it is a single plain command, the shell replaces
 * itself with the program (`exec`). Debian's dash otherwise forks, stays the parent, and on SIGTERM dies at once: the
 * program's own exit (a clean code 0 after its shutdown, a crash, a signal) would be hidden behind the shell's.
 *
 * @module
 */

/** Shell words that are not programs: `exec` in front of them would fail or change what they do. */
const _NOT_PROGRAMS = new Set([
  // Reserved words.
  "!",
  "{",
  "}",
  "case",
  "do",
  "done",
  "elif",
  "else",
  "esac",
  "fi",
  "for",
  "function",
  "if",
  "in",
  "select",
  "then",
  "time",
  "until",
  "while",
  "[[",
  // Builtins with no program of the same name, or that must run in the shell itself.
  ".",
  ":",
  "alias",
  "break",
  "cd",
  "command",
  "continue",
  "eval",
  "exec",
  "exit",
  "export",
  "getopts",
  "hash",
  "local",
  "read",
  "readonly",
  "return",
  "set",
  "shift",
  "source",
  "times",
  "trap",
  "type",
  "ulimit",
  "umask",
  "unalias",
  "unset",
  "wait",
]);

/** Characters that, unquoted, make a command line more than one plain command (lists, pipes, groups, redirections). */
const _OPERATORS = new Set([";", "&", "|", "(", ")", "<", ">", "\n", "`"]);

/**
 * `exec <command>` when `command` is one plain command (a program and its arguments, quoted or not), otherwise
 * `command` unchanged: lists, pipes, redirections, subshells, leading `VAR=value` assignments and shell builtins are
 * left to the shell.
 */
export function execForm(command: string): string {
  let quote: "'" | '"' | null = null;
  let escaped = false;
  let firstWord = "";
  let inFirstWord = true;
  let started = false;
  for (const char of command) {
    if (escaped) {
      escaped = false;
      if (inFirstWord) firstWord += char;
      continue;
    }
    if (quote === "'") {
      if (char === "'") quote = null;
      else if (inFirstWord) firstWord += char;
      continue;
    }
    if (char === "\\") {
      escaped = true;
      started = true;
      continue;
    }
    if (quote === '"') {
      if (char === '"') quote = null;
      else if (char === "`") return command;
      else if (inFirstWord) firstWord += char;
      continue;
    }
    if (char === "'" || char === '"') {
      quote = char;
      started = true;
      continue;
    }
    if (_OPERATORS.has(char)) return command;
    if (char === " " || char === "\t") {
      if (started) inFirstWord = false;
      continue;
    }
    // An unquoted `=` in the first word: a variable assignment (`FOO=1 python3 x.py`), which `exec` would not take.
    if (inFirstWord && char === "=") return command;
    started = true;
    if (inFirstWord) firstWord += char;
  }
  if (quote !== null || escaped || firstWord === "") return command;
  if (_NOT_PROGRAMS.has(firstWord)) return command;
  return `exec ${command}`;
}

/**
 * A shell error line as the student would see it after typing the command into `sh`, without our `/bin/` and `exec`:
 * `/bin/sh: 1: exec: x: not found` → `sh: 1: x: not found`.
 */
export function asTyped(line: string): string {
  return line.replace(/^\/bin\/sh: /, "sh: ").replace(
    /^(\S*sh: (?:line )?\d+: )exec: /,
    "$1",
  );
}
