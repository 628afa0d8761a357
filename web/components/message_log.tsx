/**
 * The table of recorded messages, shared by the run report (rendered on the server) and the replay island (in the
 * browser), so it imports nothing but Preact.
 *
 * @module
 */

import type { ComponentChildren } from "preact";

/** One row: a recorded message with its payload already as text (or base64 for binary). */
export interface MessageRow {
  seq: number;
  t: number;
  kind: string;
  client: string;
  topic: string;
  payload: string;
  encoding: "utf8" | "base64";
  note?: string;
}

/** Props of {@linkcode MessageLog}. */
export interface MessageLogProps {
  rows: readonly MessageRow[];
  /** The time cell of a row. */
  time: (row: MessageRow) => ComponentChildren;
  /** Payloads longer than this are cut with an ellipsis. */
  maxChars: number;
  /** Extra attributes of a row (the replay marks the current one and the later ones). */
  rowAttributes?: (
    row: MessageRow,
    index: number,
  ) => Record<string, string | undefined>;
  /** Extra class of the table (besides `log`). */
  className?: string;
  /** A caption for screen readers. */
  caption?: string;
  /**
   * Narrow layout for a half-width panel (the replay): kind and client share a column, and the payload sits under its
   * topic, so no column runs off the side.
   */
  compact?: boolean;
}

/** The message log as a table: number, time, kind, client, topic, payload (and the harness's note). */
export function MessageLog(
  { rows, time, maxChars, rowAttributes, className, caption, compact }:
    MessageLogProps,
) {
  const payloadOf = (row: MessageRow) => {
    const text = row.encoding === "base64"
      ? `(binary, base64) ${row.payload}`
      : row.payload;
    return (
      <>
        <code>
          {text.length > maxChars ? `${text.slice(0, maxChars)}…` : text}
        </code>
        {row.note && <div class="muted">{row.note}</div>}
      </>
    );
  };
  const classes = ["log", ...(compact ? ["log-compact"] : []), className]
    .filter(Boolean).join(" ");
  return (
    <table class={classes}>
      {caption && <caption class="visually-hidden">{caption}</caption>}
      <thead>
        <tr>
          <th scope="col" class="num">#</th>
          <th scope="col">Time</th>
          {compact
            ? (
              <>
                <th scope="col">Client</th>
                <th scope="col">Topic and payload</th>
              </>
            )
            : (
              <>
                <th scope="col">Kind</th>
                <th scope="col">Client</th>
                <th scope="col">Topic</th>
                <th scope="col">Payload</th>
              </>
            )}
        </tr>
      </thead>
      <tbody>
        {rows.map((row, index) => (
          <tr key={row.seq} {...rowAttributes?.(row, index)}>
            <td class="num">{row.seq}</td>
            <td>{time(row)}</td>
            {compact
              ? (
                <>
                  <td>
                    {row.client}
                    {row.kind !== "publish" && (
                      <div class="muted">{row.kind}</div>
                    )}
                  </td>
                  <td>
                    <div class="log-topic">{row.topic}</div>
                    {payloadOf(row)}
                  </td>
                </>
              )
              : (
                <>
                  <td>{row.kind}</td>
                  <td>{row.client}</td>
                  <td>{row.topic}</td>
                  <td>{payloadOf(row)}</td>
                </>
              )}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
