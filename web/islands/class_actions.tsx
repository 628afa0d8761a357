/// <reference lib="dom" />
/**
 * The teacher's buttons on the class pages (cancel, re-grade, release): each posts to the class API with the
 * teacher's CSRF token and says what happened; the console refreshes itself, other pages reload.
 *
 * @module
 */

import { useState } from "preact/hooks";
import { hydrateIslands } from "./_hydrate.ts";

/** One button: what it says and the API path it posts to. */
export interface ClassAction {
  label: string;
  /** e.g. `/api/class/teacher/jobs/<id>/cancel`. */
  url: string;
  /** Asked before posting (for actions on a whole assignment). */
  confirm?: string;
  /** Whether the page reloads after a success (default true); false keeps the answer on screen (a new token). */
  reload?: boolean;
}

/** A button that posts `action` and shows the answer; `onDone` after a success. */
export function ActionButton(
  { action, csrf, onDone }: {
    action: ClassAction;
    csrf: string;
    onDone?: () => void;
  },
) {
  const [state, setState] = useState<
    { busy: boolean; message?: string; ok?: boolean }
  >({ busy: false });
  const run = async () => {
    if (action.confirm && !globalThis.confirm(action.confirm)) return;
    setState({ busy: true });
    try {
      const response = await fetch(action.url, {
        method: "POST",
        headers: { "x-csrf-token": csrf },
      });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) {
        setState({
          busy: false,
          ok: false,
          message: body.error ?? `refused (${response.status})`,
        });
        return;
      }
      setState({
        busy: false,
        ok: true,
        message: typeof body.queued === "number"
          ? `${body.queued} queued`
          : typeof body.token === "string"
          ? `new token (shown once, give it to the student): ${body.token}`
          : "done",
      });
      onDone?.();
    } catch (error) {
      setState({ busy: false, ok: false, message: String(error) });
    }
  };
  return (
    <span class="class-action">
      <button
        type="button"
        onClick={run}
        disabled={state.busy}
        data-action={action.label}
      >
        {action.label}
      </button>
      {state.message && (
        <span
          class={state.ok ? "muted" : "error"}
          role="status"
          data-field="action-result"
        >
          {" "}
          {state.message}
        </span>
      )}
    </span>
  );
}

/** Props of {@linkcode ClassActions}. */
export interface ClassActionsProps {
  actions: ClassAction[];
  csrf: string;
}

/** A row of action buttons; the page reloads after one succeeds. */
export default function ClassActions({ actions, csrf }: ClassActionsProps) {
  return (
    <p data-field="actions">
      {actions.map((action) => (
        <ActionButton
          action={action}
          csrf={csrf}
          onDone={action.reload === false
            ? undefined
            : () => setTimeout(() => location.reload(), 300)}
        />
      ))}
    </p>
  );
}

if (typeof document !== "undefined") {
  hydrateIslands("class_actions", ClassActions);
}
