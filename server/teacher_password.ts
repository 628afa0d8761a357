/**
 * The teacher's password for the class server, as `web/auth.tsx` takes it: from `FISHTANK_TEACHER_PASSWORD` or the
 * first line of a file (`--teacher-password-file`), never from the command line; without either, one made at the
 * first start, kept in the store (whose file only its owner may read) and printed once.
 *
 * @module
 */

import type { ClassStore } from "./class_store.ts";

/** Where the password came from: `generated` means it is new and must be shown now (and only now). */
export type PasswordSource = "environment" | "file" | "stored" | "generated";

const SETTING = "teacher_password";

/**
 * The password to use: `given` (from the environment or a file) wins; else the stored one; else a new one, stored.
 */
export async function teacherPassword(
  store: ClassStore,
  given?: { password: string; source: "environment" | "file" },
): Promise<{ password: string; source: PasswordSource }> {
  if (given && given.password !== "") return given;
  const stored = await store.getSetting<string>(SETTING);
  if (stored) return { password: stored, source: "stored" };
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  const password = btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-")
    .replace(/\//g, "_");
  await store.setSetting(SETTING, password);
  return { password, source: "generated" };
}

/** Forgets the stored password, so that the next start makes a new one. */
export async function forgetTeacherPassword(store: ClassStore): Promise<void> {
  await store.kv.delete(["class", "setting", SETTING]);
}
