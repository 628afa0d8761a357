/// <reference lib="dom" />
/**
 * The live page's cards: one `LiveTank` per tank the server knew of, plus a card for every tank that starts
 * publishing after the page was loaded (heard on the shared event stream), so nobody has to reload.
 *
 * @module
 */

import { useEffect, useState } from "preact/hooks";
import { hydrateIslands } from "./_hydrate.ts";
import { listen, LiveTank, type LiveTankProps } from "./_live_tank.tsx";
import type { EditAccess } from "./RangeEditor.tsx";

/** Props of {@linkcode LiveBoard}. */
export interface LiveBoardProps {
  tanks: LiveTankProps[];
  /** The topic root, for the "no tank yet" message. */
  root: string;
  /** Simulated seconds the live charts show. */
  chartSeconds: number;
  /** Whether range edits need the teacher's login (default: open). */
  access?: EditAccess;
}

/** Every live tank's card, in the order they were first heard from. */
export default function LiveBoard(props: LiveBoardProps) {
  const [tanks, setTanks] = useState(props.tanks);

  useEffect(() =>
    listen((message) => {
      const found = message.type === "snapshot"
        ? message.snapshot.tanks.map((view) => ({
          view,
          history: message.snapshot.history[view.tank] ?? [],
          connection: message.snapshot.connection,
          now: message.snapshot.now,
        }))
        : message.type === "tank"
        ? [{
          view: message.tank,
          history: message.points,
          connection: { state: "connected" as const, since: message.now },
          now: message.now,
        }]
        : [];
      setTanks((known) => {
        const added = found.filter((f) =>
          !known.some((k) => k.view.tank === f.view.tank)
        );
        return added.length === 0 ? known : [
          ...known,
          ...added.map((f) => ({ ...f, chartSeconds: props.chartSeconds })),
        ];
      });
    }), []);

  if (tanks.length === 0) {
    return (
      <p data-field="no-tanks">
        No tank has published under <code>{props.root}/</code>{" "}
        yet. Start one with <code>deno task sim</code>: its card appears here.
      </p>
    );
  }
  return (
    <div class="cards">
      {tanks.map((tank) => (
        <LiveTank
          key={tank.view.tank}
          {...tank}
          {...(props.access ? { access: props.access } : {})}
        />
      ))}
    </div>
  );
}

if (typeof document !== "undefined") hydrateIslands("LiveBoard", LiveBoard);
