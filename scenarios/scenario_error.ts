/**
 * `ScenarioError`: a scenario file that cannot be loaded, with every problem found in it.
 *
 * @module
 */

/** One problem in a scenario file. */
export interface ScenarioIssue {
  /** Where, as a field path like `events[2].at`; empty for the file as a whole. */
  readonly path: string;
  /** What is wrong and what was expected: `expected a duration like "90s", "30m", "6h" or "2d", got "soon"`. */
  readonly message: string;
  /** 1-based line in the file, when known. */
  readonly line?: number;
  /** 1-based column in the file, when known. */
  readonly column?: number;
}

/** Options for {@linkcode ScenarioError}. */
export interface ScenarioErrorOptions {
  /** The file (or built-in id) that could not be loaded. */
  file: string;
  /** Every problem found; at least one. */
  issues: readonly ScenarioIssue[];
  /** The underlying error (a YAML parse error, a file-system error, …). */
  cause?: unknown;
}

/** One issue as a line of text: `events[2].at: expected … (line 14)`. */
export function formatIssue(issue: ScenarioIssue): string {
  const where = issue.path === "" ? "" : `${issue.path}: `;
  const column = issue.column === undefined ? "" : `, column ${issue.column}`;
  const line = issue.line === undefined ? "" : ` (line ${issue.line}${column})`;
  return `${where}${issue.message}${line}`;
}

/**
 * A scenario that cannot be loaded: the file is missing, is not valid YAML, or does not follow the scenario format.
 * The message names the file and every problem:
 * `Cannot load scenario "cold-room.yaml": events[2].at: expected a duration like "2h", got "soon" (line 14)`.
 */
export class ScenarioError extends Error {
  /** Always `"ScenarioError"`. */
  override readonly name = "ScenarioError";
  /** The file (or built-in id) that could not be loaded. */
  readonly file: string;
  /** Every problem found, in file order where known. */
  readonly issues: readonly ScenarioIssue[];

  /** Builds the message from the file and its issues. */
  constructor(options: ScenarioErrorOptions) {
    const { file, issues, cause } = options;
    const head = `Cannot load scenario "${file}"`;
    const message = issues.length === 1
      ? `${head}: ${formatIssue(issues[0]!)}`
      : `${head}: ${issues.length} problems:\n${
        issues.map((issue) => `  - ${formatIssue(issue)}`).join("\n")
      }`;
    super(message, cause === undefined ? undefined : { cause });
    this.file = file;
    this.issues = issues;
  }
}
