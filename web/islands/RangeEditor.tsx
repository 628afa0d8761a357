/// <reference lib="dom" />
/**
 * The form that changes one measurement's range on a live tank. It refuses bad input (not a number, min ≥ max,
 * outside the physical bounds) with a message before anything is sent, then posts `{min, max}` as JSON to
 * `/api/live/tanks/:tank/ranges/:name` with the session's CSRF token. The range shown on the card is the one the tank
 * publishes, not this form's. On a locked server without the teacher's login it links to the login page instead.
 *
 * @module
 */

import { useState } from "preact/hooks";
import { hydrateIslands } from "./_hydrate.ts";
import { checkRangeInput } from "../live_range.ts";
import { LABELS, type RangeView, unit } from "../live_view.ts";
import type { SensorName } from "../../sim/mod.ts";

/** What the page may offer for range edits: open, locked without a login, or locked with one (its CSRF token). */
export type EditAccess =
  | { locked: false }
  | { locked: true; csrf?: string };

/** Props of {@linkcode RangeEditor}. */
export interface RangeEditorProps {
  tank: string;
  name: SensorName;
  /** The range in use, to start from. */
  range?: RangeView;
  /** Whether edits need a login (default: open). */
  access?: EditAccess;
}

type Message = { kind: "error" | "info"; text: string } | undefined;

/** A form: min, max, Save. */
export function RangeEditor(
  { tank, name, range, access = { locked: false } }: RangeEditorProps,
) {
  const [min, setMin] = useState(range?.min?.toString() ?? "");
  const [max, setMax] = useState(range?.max?.toString() ?? "");
  const [message, setMessage] = useState<Message>(undefined);
  const [busy, setBusy] = useState(false);
  const id = `range-${tank}-${name}`;
  const u = unit(name);

  async function submit(event: Event) {
    event.preventDefault();
    const check = checkRangeInput(name, min, max);
    if (!check.ok) {
      setMessage({ kind: "error", text: check.error });
      return;
    }
    setBusy(true);
    setMessage({ kind: "info", text: "Sending…" });
    try {
      const response = await fetch(
        `/api/live/tanks/${encodeURIComponent(tank)}/ranges/${name}`,
        {
          method: "POST",
          headers: {
            "content-type": "application/json",
            ...(access.locked && access.csrf
              ? { "x-csrf-token": access.csrf }
              : {}),
          },
          body: JSON.stringify({
            min: check.range.min ?? null,
            max: check.range.max ?? null,
          }),
        },
      );
      const json = await response.json().catch(() => ({}));
      setMessage(
        response.ok
          ? {
            kind: "info",
            text: "Sent: the card shows it once the tank uses it.",
          }
          : {
            kind: "error",
            text: json.error ?? `The server said ${response.status}`,
          },
      );
    } catch (error) {
      setMessage({ kind: "error", text: `Could not send: ${error}` });
    } finally {
      setBusy(false);
    }
  }

  if (access.locked && access.csrf === undefined) {
    return (
      <p class="muted" data-range={name} data-field="login-needed">
        <strong style="min-width:10rem">{LABELS[name]}</strong>{" "}
        Teacher login needed to change ranges: <a href="/login">log in</a>
      </p>
    );
  }
  // No method or action: the API takes JSON only, so the form is sent by this script.
  return (
    <form
      class="inline range-form"
      data-range={name}
      onSubmit={submit}
      noValidate
    >
      <strong style="min-width:10rem">{LABELS[name]}</strong>
      <label for={`${id}-min`}>
        min{" "}
        <input
          id={`${id}-min`}
          name="min"
          inputMode="decimal"
          size={6}
          value={min}
          onInput={(e) => setMin((e.target as HTMLInputElement).value)}
          aria-invalid={message?.kind === "error" ? "true" : undefined}
          aria-describedby={`${id}-msg`}
        />
      </label>
      <label for={`${id}-max`}>
        max{" "}
        <input
          id={`${id}-max`}
          name="max"
          inputMode="decimal"
          size={6}
          value={max}
          onInput={(e) => setMax((e.target as HTMLInputElement).value)}
          aria-invalid={message?.kind === "error" ? "true" : undefined}
          aria-describedby={`${id}-msg`}
        />
      </label>
      {u && <span class="muted">{u}</span>}
      <button type="submit" disabled={busy}>Save</button>
      <span
        id={`${id}-msg`}
        role={message?.kind === "error" ? "alert" : "status"}
        class={message?.kind === "error" ? "error" : "muted"}
        data-field="message"
      >
        {message?.text ?? ""}
      </span>
    </form>
  );
}

if (typeof document !== "undefined") hydrateIslands("RangeEditor", RangeEditor);
