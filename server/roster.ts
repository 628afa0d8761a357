/**
 * The class roster: students read from a CSV file (`name,group`, a header line optional), each given a random
 * token that is stored only as its SHA-256 hash. A token is shown once, when it is made.
 *
 * @module
 */

/** One line of the roster file. */
export interface RosterEntry {
  name: string;
  group: string;
}

/** A student as the class store keeps them (never the token itself). */
export interface Student {
  /** A stable id derived from the name: `ada-lovelace`, `ada-lovelace-2` for a namesake. */
  id: string;
  name: string;
  group: string;
  tokenHash: string;
  createdAt: string;
}

/** Splits one CSV line (commas, double quotes with `""` inside them). */
function csvFields(line: string): string[] {
  const fields: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      fields.push(field);
      field = "";
    } else field += ch;
  }
  fields.push(field);
  return fields.map((f) => f.trim());
}

/**
 * Reads a roster: one student per line, `name,group` (the group may be empty); a first line `name,group` is a
 * header; blank lines and lines starting with `#` are skipped.
 *
 * @throws {SyntaxError} naming the line of a name that is empty, too long or given twice
 */
export function parseRosterCsv(text: string, file = "roster"): RosterEntry[] {
  const entries: RosterEntry[] = [];
  const seen = new Set<string>();
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  lines.forEach((line, i) => {
    if (line.trim() === "" || line.trimStart().startsWith("#")) return;
    const [name = "", group = ""] = csvFields(line);
    if (i === 0 && name.toLowerCase() === "name") return;
    const where = `${file}:${i + 1}`;
    if (name === "" || name.length > 100 || group.length > 100) {
      throw new SyntaxError(
        `${where}: expected "name,group" with a name of 1–100 characters, got "${line}"`,
      );
    }
    if (seen.has(name)) {
      throw new SyntaxError(`${where}: "${name}" is on the roster twice`);
    }
    seen.add(name);
    entries.push({ name, group });
  });
  return entries;
}

/** A new student token: 32 random bytes, base64url, with a `ft_` prefix so it is recognisable in logs and files. */
export function newToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return "ft_" + btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-")
    .replace(/\//g, "_").replace(/=+$/, "");
}

/** The stored form of a token. Tokens are random and long, so a plain SHA-256 is enough (no slow hash needed). */
export async function hashToken(token: string): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(token),
  );
  return Array.from(
    new Uint8Array(digest),
    (b) => b.toString(16).padStart(2, "0"),
  )
    .join("");
}

/** The id a student's name gives (`Ada Lovelace` → `ada-lovelace`). */
export function studentSlug(name: string): string {
  const slug = name.normalize("NFKD").replace(/[\u0300-\u036f]/g, "")
    .toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "")
    .slice(0, 48);
  return slug || "student";
}

/** The tokens file a teacher hands out: `name,group,token` lines. */
export function tokensCsv(
  rows: { name: string; group: string; token: string }[],
): string {
  const cell = (v: string) =>
    /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
  return [
    "name,group,token",
    ...rows.map((r) => [r.name, r.group, r.token].map(cell).join(",")),
  ].join("\n") + "\n";
}
