/**
 * Assignments: a set of scenarios with weights, each visible or hidden, a pass mark, opening and due dates, a number
 * of attempts and the start commands students may choose. Read from the YAML file given to `deno task serve
 * --assignments`, or posted by the teacher as JSON (the same fields).
 *
 * ```yaml
 * assignments:
 *   - id: thermostat
 *     title: Keep the tank warm
 *     scenarios:
 *       - { scenario: steady-day, weight: 1 }
 *       - { scenario: cold-room, weight: 2 }
 *       - { scenario: heater-failure, weight: 1, hidden: true }
 *     pass_mark: 60
 *     opens: 2026-11-01T08:00:00Z
 *     due: 2026-12-15T23:59:00Z
 *     max_attempts: 10
 *     commands: [python3, deno]
 * ```
 *
 * @module
 */

import { dirname, isAbsolute, join } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";

/** How a submitted file is started: `python3 FILE`, a `.ts`/`.js` file alone (Deno), or a Node-RED flow. */
export const START_KINDS = ["python3", "deno", "node-red"] as const;
/** One of {@linkcode START_KINDS}. */
export type StartKind = (typeof START_KINDS)[number];

/** One scenario of an assignment. */
export interface AssignmentScenario {
  /** A built-in scenario id or the path of a scenario file (resolved against the assignments file's folder). */
  scenario: string;
  weight: number;
  hidden: boolean;
}

/** An assignment, resolved (defaults filled in). */
export interface Assignment {
  id: string;
  title: string;
  scenarios: AssignmentScenario[];
  /** 0–100: a submission passes when its weighted score reaches it. */
  passMark: number;
  /** ISO times; absent: always open, never late. */
  opens?: string;
  due?: string;
  /** Submissions a student may make; absent: no limit. */
  maxAttempts?: number;
  /** The start commands students may choose. */
  commands: StartKind[];
  /** Whether the hidden scenarios have been released to students (their names, cards and runs). */
  released: boolean;
}

const time = z.union([z.string(), z.date()]).transform((value, ctx) => {
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) {
    ctx.addIssue({
      code: "custom",
      message: `expected a date like 2026-12-15T23:59:00Z, got "${value}"`,
    });
    return z.NEVER;
  }
  return date.toISOString();
});

/** The fields of one assignment as written (YAML or JSON). */
export const assignmentSchema = z.object({
  id: z.string().regex(
    /^[a-z0-9][a-z0-9_-]{0,63}$/,
    "expected lower-case letters, digits, - and _ (up to 64)",
  ),
  title: z.string().min(1).max(200),
  scenarios: z.array(
    z.object({
      scenario: z.string().min(1).max(500),
      weight: z.number().positive().max(1000).default(1),
      hidden: z.boolean().default(false),
    }).strict(),
  ).min(1).max(50),
  pass_mark: z.number().min(0).max(100).default(60),
  opens: time.optional(),
  due: time.optional(),
  max_attempts: z.number().int().positive().max(10_000).optional(),
  commands: z.array(z.enum(START_KINDS)).min(1).default(["python3", "deno"]),
  released: z.boolean().default(false),
}).strict();

/** The assignments file. */
const fileSchema = z.object({
  assignments: z.array(assignmentSchema).min(1),
}).strict();

function issuesText(error: z.ZodError): string {
  return error.issues.map((issue) =>
    `${issue.path.join(".") || "(top)"}: ${issue.message}`
  ).join("; ");
}

/**
 * Checks one assignment as written; scenario paths are resolved against `baseDir` when given.
 *
 * @throws {TypeError} naming each wrong field
 */
export function parseAssignment(
  input: unknown,
  options: { baseDir?: string; where?: string } = {},
): Assignment {
  const parsed = assignmentSchema.safeParse(input);
  if (!parsed.success) {
    throw new TypeError(
      `Invalid assignment${options.where ? ` in ${options.where}` : ""}: ${
        issuesText(parsed.error)
      }`,
    );
  }
  const a = parsed.data;
  return {
    id: a.id,
    title: a.title,
    scenarios: a.scenarios.map((s) => ({
      scenario: options.baseDir !== undefined && isPath(s.scenario) &&
          !isAbsolute(s.scenario)
        ? join(options.baseDir, s.scenario)
        : s.scenario,
      weight: s.weight,
      hidden: s.hidden,
    })),
    passMark: a.pass_mark,
    ...(a.opens !== undefined ? { opens: a.opens } : {}),
    ...(a.due !== undefined ? { due: a.due } : {}),
    ...(a.max_attempts !== undefined ? { maxAttempts: a.max_attempts } : {}),
    commands: [...new Set(a.commands)],
    released: a.released,
  };
}

function isPath(ref: string): boolean {
  return /[\\/]|\.ya?ml$/i.test(ref);
}

/**
 * Reads an assignments file (YAML).
 *
 * @throws {TypeError} naming the file and each wrong field
 */
export async function loadAssignments(path: string): Promise<Assignment[]> {
  let doc: unknown;
  try {
    doc = parseYaml(await Deno.readTextFile(path));
  } catch (error) {
    throw new TypeError(
      `Cannot read the assignments file "${path}": ${
        error instanceof Error ? error.message : error
      }`,
    );
  }
  const parsed = fileSchema.safeParse(doc);
  if (!parsed.success) {
    throw new TypeError(
      `Invalid assignments file "${path}": ${issuesText(parsed.error)}`,
    );
  }
  const ids = new Set<string>();
  return parsed.data.assignments.map((raw, i) => {
    if (ids.has(raw.id)) {
      throw new TypeError(
        `Invalid assignments file "${path}": assignments[${i}].id: "${raw.id}" appears twice`,
      );
    }
    ids.add(raw.id);
    return parseAssignment(raw, {
      baseDir: dirname(path),
      where: `"${path}" assignments[${i}]`,
    });
  });
}

/** The label a student sees for scenario `index` of `assignment` while it is hidden: `hidden case 1`, … */
export function hiddenLabel(assignment: Assignment, index: number): string {
  let n = 0;
  for (let i = 0; i <= index; i++) {
    if (assignment.scenarios[i]?.hidden) n++;
  }
  return `hidden case ${n}`;
}

/** Whether scenario `index` is secret from students now. */
export function isSecret(assignment: Assignment, index: number): boolean {
  return !assignment.released && assignment.scenarios[index]?.hidden === true;
}
