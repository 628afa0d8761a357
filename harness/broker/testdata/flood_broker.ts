/**
 * An embedded broker in a process of its own, for tests that measure its memory: `deno run -A flood_broker.ts
 * '<options JSON>'` prints `{"port": …}`, then answers each line on stdin with one JSON line of session figures
 * (`EmbeddedBroker.sessionStats`): `publish COUNT BYTES TOPIC` first publishes COUNT QoS 1 messages of BYTES bytes in
 * process, one after another (each payload starts with the message's number); `stats` answers at once. The end of
 * input closes the broker.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { type BrokerOptions, EmbeddedBroker } from "../broker.ts";

const options = JSON.parse(Deno.args[0] ?? "{}") as BrokerOptions;
const broker = await EmbeddedBroker.start({
  port: 0,
  wsPort: false,
  ...options,
});
const encoder = new TextEncoder();
const say = (value: unknown) =>
  Deno.stdout.write(encoder.encode(JSON.stringify(value) + "\n"));
await say({ port: broker.port });

function publish(topic: string, payload: Buffer): Promise<void> {
  return new Promise((resolve, reject) =>
    broker.aedes.publish(
      { cmd: "publish", topic, payload, qos: 1, retain: false, dup: false },
      (error) => error ? reject(error) : resolve(),
    )
  );
}

let pending = "";
for await (
  const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())
) {
  pending += chunk;
  let newline;
  while ((newline = pending.indexOf("\n")) >= 0) {
    const [command, ...args] = pending.slice(0, newline).trim().split(" ");
    pending = pending.slice(newline + 1);
    if (command === "publish") {
      const [count, bytes, topic] = [
        Number(args[0]),
        Number(args[1]),
        args[2]!,
      ];
      for (let i = 0; i < count; i++) {
        const payload = Buffer.alloc(bytes, ".");
        payload.write(`${i} `);
        await publish(topic, payload);
      }
    }
    const memory = Deno.memoryUsage();
    await say({
      ...broker.sessionStats(),
      heapUsed: memory.heapUsed,
      heapTotal: memory.heapTotal,
    });
  }
}
await broker.close();
