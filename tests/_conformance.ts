/**
 * Real MQTT clients behind one small interface, for the conformance suite (`tests/mqtt_conformance_test.ts`): the
 * same check runs with MQTT.js (in process, over TCP or WebSocket) and with paho-mqtt 2 (a Python process driven by
 * JSON lines, `tests/fixtures/conformance/paho_peer.py`), against any broker.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import mqtt from "mqtt";
import { PAHO2_PYTHON } from "./_peers.ts";

/** The clients a check can run with. */
export type ClientKind =
  | "mqtt.js"
  | "mqtt.js ws"
  | "paho 2"
  | "mosquitto_sub/pub"
  /** `mqtt-packet` driven by hand over TCP, for what no client library lets a test do (hold acknowledgements). */
  | "mqtt-packet";

/** A broker under test: its name in the table and where to reach it (`wsUrl` null when it has no WebSocket). */
export interface Target {
  name: string;
  url: string;
  wsUrl: string | null;
}

/** The MQTT 5 PUBLISH properties the suite looks at. */
export interface MessageProperties {
  userProperties?: Record<string, string>;
  contentType?: string;
  responseTopic?: string;
  correlationData?: string;
  messageExpiryInterval?: number;
}

/** One message a client received. */
export interface Received {
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
  properties: MessageProperties;
}

/** What a client sends in CONNECT. */
export interface ConnectOptions {
  /** 4 is MQTT 3.1.1, 5 is MQTT 5. */
  version: 4 | 5;
  clientId?: string;
  /** Clean session (3.1.1) or clean start (5); default true. */
  clean?: boolean;
  /** MQTT 5 session expiry interval, seconds. */
  sessionExpiry?: number;
  will?: {
    topic: string;
    payload: string;
    qos: 0 | 1 | 2;
    retain?: boolean;
    /** MQTT 5 will delay interval, seconds. */
    delay?: number;
  };
}

/** The broker's answer to CONNECT: reason code 0 is accepted (3.1.1 return codes as the client reports them). */
export interface Connack {
  reasonCode: number;
  sessionPresent: boolean;
}

/** Subscription options (the MQTT 5 ones are ignored in 3.1.1). */
export interface SubscribeOptions {
  qos: 0 | 1 | 2;
  noLocal?: boolean;
  retainAsPublished?: boolean;
  retainHandling?: 0 | 1 | 2;
}

/** What a client sends in PUBLISH. */
export interface PublishOptions {
  qos?: 0 | 1 | 2;
  retain?: boolean;
  properties?: MessageProperties;
}

/** One real client, one connection at a time; `received` keeps every message of every connection. */
export interface Peer extends AsyncDisposable {
  readonly kind: ClientKind;
  readonly received: Received[];
  connect(options: ConnectOptions): Promise<Connack>;
  /** Resolves with the granted QoS / reason codes once the SUBACK is in. */
  subscribe(filter: string, options: SubscribeOptions): Promise<number[]>;
  /** Resolves once the publish is acknowledged (at once for QoS 0). */
  publish(
    topic: string,
    payload: string,
    options?: PublishOptions,
  ): Promise<void>;
  /** A normal DISCONNECT. */
  disconnect(): Promise<void>;
  /** Closes the socket without DISCONNECT (the will is due). */
  drop(): Promise<void>;
}

/** Opens a client of `kind` on `target` (not yet connected). */
export function openPeer(kind: ClientKind, target: Target): Promise<Peer> {
  if (kind === "paho 2") return PahoPeer.open(target);
  if (kind === "mosquitto_sub/pub") {
    return Promise.resolve(new MosquittoClientsPeer(target));
  }
  const url = kind === "mqtt.js ws" ? target.wsUrl : target.url;
  if (url === null) {
    throw new RangeError(`Broker "${target.name}" has no WebSocket listener`);
  }
  return Promise.resolve(new MqttJsPeer(kind, url));
}

class MqttJsPeer implements Peer {
  readonly received: Received[] = [];
  #client: mqtt.MqttClient | null = null;

  constructor(readonly kind: ClientKind, readonly url: string) {}

  connect(options: ConnectOptions): Promise<Connack> {
    const will = options.will;
    const clientOptions: mqtt.IClientOptions = {
      protocolVersion: options.version,
      clientId: options.clientId ?? `conf-${crypto.randomUUID().slice(0, 8)}`,
      clean: options.clean ?? true,
      reconnectPeriod: 0,
      connectTimeout: 5_000,
      keepalive: 10,
      ...(options.sessionExpiry !== undefined
        ? { properties: { sessionExpiryInterval: options.sessionExpiry } }
        : {}),
      ...(will
        ? {
          will: {
            topic: will.topic,
            payload: Buffer.from(will.payload),
            qos: will.qos,
            retain: will.retain ?? false,
            ...(will.delay !== undefined
              ? { properties: { willDelayInterval: will.delay } }
              : {}),
          },
        }
        : {}),
    };
    if (options.clientId === "" && options.clean === false) {
      // MQTT.js (and mqtt-packet under it) will not send an empty id without clean session: the same CONNECT by hand.
      return rawConnect(this.url, options.version);
    }
    const client = mqtt.connect(this.url, clientOptions);
    client.on("message", (topic, payload, packet) => {
      const p = packet.properties ?? {};
      const properties: MessageProperties = {};
      if (p.userProperties) {
        properties.userProperties = Object.fromEntries(
          Object.entries(p.userProperties).map(([k, v]) => [k, String(v)]),
        );
      }
      if (p.contentType !== undefined) properties.contentType = p.contentType;
      if (p.responseTopic !== undefined) {
        properties.responseTopic = p.responseTopic;
      }
      if (p.correlationData !== undefined) {
        properties.correlationData = String(p.correlationData);
      }
      if (p.messageExpiryInterval !== undefined) {
        properties.messageExpiryInterval = p.messageExpiryInterval;
      }
      this.received.push({
        topic,
        payload: String(payload),
        qos: packet.qos,
        retain: packet.retain,
        properties,
      });
    });
    return new Promise<Connack>((resolve) => {
      let settled = false;
      const done = (connack: Connack) => {
        if (settled) return;
        settled = true;
        client.removeAllListeners("connect");
        client.removeAllListeners("error");
        client.on("error", () => {});
        if (connack.reasonCode === 0) this.#client = client;
        else client.end(true);
        resolve(connack);
      };
      client.once("connect", (packet) =>
        done({
          reasonCode: packet.reasonCode ?? packet.returnCode ?? 0,
          sessionPresent: packet.sessionPresent,
        }));
      client.once("error", (error: Error & { code?: number }) =>
        done({
          reasonCode: typeof error.code === "number" ? error.code : -1,
          sessionPresent: false,
        }));
      client.once(
        "close",
        () => done({ reasonCode: -1, sessionPresent: false }),
      );
    });
  }

  async subscribe(filter: string, options: SubscribeOptions) {
    const granted = await this.#connected().subscribeAsync(filter, {
      qos: options.qos,
      ...(options.noLocal !== undefined ? { nl: options.noLocal } : {}),
      ...(options.retainAsPublished !== undefined
        ? { rap: options.retainAsPublished }
        : {}),
      ...(options.retainHandling !== undefined
        ? { rh: options.retainHandling }
        : {}),
    });
    return granted.map((g) => g.qos);
  }

  async publish(topic: string, payload: string, options: PublishOptions = {}) {
    const p = options.properties;
    await this.#connected().publishAsync(topic, payload, {
      qos: options.qos ?? 0,
      retain: options.retain ?? false,
      ...(p
        ? {
          properties: {
            ...(p.userProperties ? { userProperties: p.userProperties } : {}),
            ...(p.contentType ? { contentType: p.contentType } : {}),
            ...(p.responseTopic ? { responseTopic: p.responseTopic } : {}),
            ...(p.correlationData
              ? { correlationData: Buffer.from(p.correlationData) }
              : {}),
            ...(p.messageExpiryInterval !== undefined
              ? { messageExpiryInterval: p.messageExpiryInterval }
              : {}),
          },
        }
        : {}),
    });
  }

  async disconnect() {
    const client = this.#client;
    this.#client = null;
    await client?.endAsync();
  }

  drop() {
    const client = this.#client;
    this.#client = null;
    if (client) {
      client.stream.destroy();
      client.end(true);
    }
    return Promise.resolve();
  }

  async [Symbol.asyncDispose]() {
    await this.drop();
  }

  #connected(): mqtt.MqttClient {
    if (!this.#client) throw new Error(`${this.kind} client is not connected`);
    return this.#client;
  }
}

/**
 * Sends a CONNECT with an empty client id and clean session (start) 0 on a raw TCP connection and returns the
 * CONNACK's code, or -1 when the broker closes the connection (or says nothing for 5 s) instead.
 */
async function rawConnect(url: string, version: 4 | 5): Promise<Connack> {
  const { hostname, port } = new URL(url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  const timer = setTimeout(() => conn.close(), 5_000);
  // Fixed header, "MQTT", level, flags 0 (no clean session), keepalive 10, (v5: no properties), empty client id.
  const body = [0, 4, 77, 81, 84, 84, version, 0, 0, 10];
  if (version === 5) body.push(0);
  body.push(0, 0);
  const read: number[] = [];
  try {
    await conn.write(new Uint8Array([0x10, body.length, ...body]));
    const buffer = new Uint8Array(64);
    while (read.length < 4) {
      const n = await conn.read(buffer);
      if (n === null) break;
      read.push(...buffer.subarray(0, n));
    }
  } catch {
    /* closed: no CONNACK */
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed by the timer */ }
  }
  if (read.length < 4 || read[0] !== 0x20) {
    return { reasonCode: -1, sessionPresent: false };
  }
  return { reasonCode: read[3]!, sessionPresent: (read[2]! & 1) === 1 };
}

type Reply = Record<string, unknown>;

class PahoPeer implements Peer {
  readonly kind = "paho 2" as const;
  readonly received: Received[] = [];
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #replies: ((reply: Reply) => void)[] = [];
  readonly #reading: Promise<void>;

  private constructor(target: Target) {
    const url = new URL(target.url);
    this.#child = new Deno.Command(PAHO2_PYTHON, {
      args: [
        new URL("./fixtures/conformance/paho_peer.py", import.meta.url)
          .pathname,
        url.hostname,
        url.port,
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#writer = this.#child.stdin.getWriter();
    this.#reading = this.#read();
  }

  static async open(target: Target): Promise<PahoPeer> {
    const peer = new PahoPeer(target);
    await peer.#next();
    return peer;
  }

  async #read() {
    let buffered = "";
    for await (
      const chunk of this.#child.stdout.pipeThrough(new TextDecoderStream())
    ) {
      buffered += chunk;
      let newline;
      while ((newline = buffered.indexOf("\n")) >= 0) {
        const line = JSON.parse(buffered.slice(0, newline));
        buffered = buffered.slice(newline + 1);
        if (line.message) this.received.push(line.message as Received);
        else this.#replies.shift()?.(line.reply as Reply);
      }
    }
  }

  #next(): Promise<Reply> {
    return new Promise((resolve) => this.#replies.push(resolve));
  }

  async #send(command: Reply): Promise<Reply> {
    const reply = this.#next();
    await this.#writer.write(
      new TextEncoder().encode(JSON.stringify(command) + "\n"),
    );
    const answer = await reply;
    if (typeof answer.error === "string" && command.op !== "connect") {
      throw new Error(`paho 2 ${command.op}: ${answer.error}`);
    }
    return answer;
  }

  async connect(options: ConnectOptions): Promise<Connack> {
    const reply = await this.#send({
      op: "connect",
      clientId: options.clientId ?? `conf-${crypto.randomUUID().slice(0, 8)}`,
      ...options,
    });
    return {
      reasonCode: reply.reasonCode as number,
      sessionPresent: reply.sessionPresent as boolean,
    };
  }

  async subscribe(filter: string, options: SubscribeOptions) {
    const reply = await this.#send({ op: "subscribe", filter, ...options });
    return reply.granted as number[];
  }

  async publish(topic: string, payload: string, options: PublishOptions = {}) {
    await this.#send({ op: "publish", topic, payload, ...options });
  }

  async disconnect() {
    await this.#send({ op: "disconnect" });
  }

  async drop() {
    await this.#send({ op: "drop" });
  }

  async [Symbol.asyncDispose]() {
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), 5_000);
    try {
      await this.#send({ op: "quit" }).catch(() => {});
      await this.#writer.close().catch(() => {});
      await this.#child.status;
      await this.#reading.catch(() => {});
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * Debian's mosquitto_sub and mosquitto_pub: `connect` only keeps the options; each `subscribe` is a mosquitto_sub
 * process (ready once it prints its SUBACK) and each `publish` a mosquitto_pub run, so the connection's own answers
 * (CONNACK flags, sessions, wills) are out of its reach and only plain publish/subscribe checks use it.
 */
class MosquittoClientsPeer implements Peer {
  readonly kind = "mosquitto_sub/pub" as const;
  readonly received: Received[] = [];
  readonly #host: string;
  readonly #port: string;
  #options: ConnectOptions = { version: 4 };
  readonly #subs: Deno.ChildProcess[] = [];

  constructor(target: Target) {
    const url = new URL(target.url);
    this.#host = url.hostname;
    this.#port = url.port;
  }

  #common(): string[] {
    return [
      "-V",
      this.#options.version === 5 ? "mqttv5" : "mqttv311",
      "-h",
      this.#host,
      "-p",
      this.#port,
    ];
  }

  connect(options: ConnectOptions): Promise<Connack> {
    this.#options = options;
    return Promise.resolve({ reasonCode: 0, sessionPresent: false });
  }

  subscribe(filter: string, options: SubscribeOptions): Promise<number[]> {
    // Line-buffered: mosquitto_sub flushes after a message but not after its debug lines (the SUBACK).
    const child = new Deno.Command("stdbuf", {
      args: [
        "-oL",
        "mosquitto_sub",
        ...this.#common(),
        "-d",
        "-q",
        String(options.qos),
        "-t",
        filter,
        "-F",
        "MSG\\t%t\\t%q\\t%r\\t%p",
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    this.#subs.push(child);
    return new Promise((resolve, reject) => {
      (async () => {
        let buffered = "";
        for await (
          const chunk of child.stdout.pipeThrough(new TextDecoderStream())
        ) {
          buffered += chunk;
          let newline;
          while ((newline = buffered.indexOf("\n")) >= 0) {
            const line = buffered.slice(0, newline);
            buffered = buffered.slice(newline + 1);
            const granted = /^Subscribed \(mid: \d+\): (.*)$/.exec(line);
            if (granted) resolve(granted[1]!.split(/[ ,]+/).map(Number));
            if (line.startsWith("MSG\t")) {
              const [, topic, qos, retain, ...payload] = line.split("\t");
              this.received.push({
                topic: topic!,
                payload: payload.join("\t"),
                qos: Number(qos),
                retain: retain === "1",
                properties: {},
              });
            }
          }
        }
        reject(new Error(`mosquitto_sub ended before its SUBACK`));
      })().catch(reject);
    });
  }

  async publish(topic: string, payload: string, options: PublishOptions = {}) {
    const args = [
      ...this.#common(),
      "-q",
      String(options.qos ?? 0),
      "-t",
      topic,
      ...(payload === "" ? ["-n"] : ["-m", payload]),
      ...(options.retain ? ["-r"] : []),
    ];
    const child = new Deno.Command("mosquitto_pub", {
      args,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    try {
      const output = await child.output();
      if (!output.success) {
        throw new Error(
          `mosquitto_pub failed: ${new TextDecoder().decode(output.stderr)}`,
        );
      }
    } finally {
      clearTimeout(timer);
    }
  }

  async disconnect() {
    for (const child of this.#subs.splice(0)) {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      await child.status;
    }
  }

  drop() {
    return this.disconnect();
  }

  async [Symbol.asyncDispose]() {
    await this.disconnect();
  }
}
