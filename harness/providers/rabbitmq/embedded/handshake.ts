import { AmqpError } from './broker.ts';
import { FRAME, HEARTBEAT_FRAME, M, decodeTable, encodeMethod, methodName } from './codec.ts';

/**
 * A connection's setup: the limits the server proposes, the handshake up to Connection.Open-Ok (credentials,
 * tuning, the vhost), its deadline, and the heartbeats that follow.
 */

/** What the server proposes in Connection.Tune, and how long it waits for a client. */
export interface ConnectionLimits {
  readonly channelMax: number;
  readonly frameMax: number;
  /** Seconds; 0 turns heartbeats off unless the client asks for them. */
  readonly heartbeatSeconds: number;
  /** From the TCP connect to Connection.Open-Ok; a client that stalls longer is dropped (RabbitMQ: 10 s). */
  readonly handshakeTimeoutMs: number;
}

/** RabbitMQ 3.10's defaults. */
export const DEFAULT_LIMITS: ConnectionLimits = { channelMax: 2047, frameMax: 131_072, heartbeatSeconds: 60, handshakeTimeoutMs: 10_000 };

/** The only account, as on a fresh RabbitMQ node (which allows it from localhost only; this broker listens nowhere else). */
const USER = 'guest';
const PASSWORD = 'guest';
const VHOST = '/';

/** Connection.Start's server-properties: the capabilities are exactly what this broker implements. */
const SERVER_PROPERTIES = {
  product: 'circleci-server-twin embedded AMQP broker',
  version: '3.10-compatible',
  platform: `Node.js ${process.version}`,
  cluster_name: 'embedded@localhost',
  information: "The twin's embedded AMQP 0-9-1 broker: RabbitMQ semantics for one vhost, see harness/providers/rabbitmq/embedded",
  capabilities: {
    publisher_confirms: true,
    'basic.nack': true,
    consumer_cancel_notify: true,
    authentication_failure_close: true,
    per_consumer_qos: true,
    exchange_exchange_bindings: false,
    'connection.blocked': false,
    consumer_priorities: false,
    direct_reply_to: false,
  },
};

export type Phase = 'header' | 'start-ok' | 'tune-ok' | 'open' | 'opened' | 'closing' | 'closed';

/** The method each handshake phase waits for. */
const HANDSHAKE: Partial<Record<Phase, number>> = { 'start-ok': M.ConnectionStartOk, 'tune-ok': M.ConnectionTuneOk, open: M.ConnectionOpen };

/** What the handshake may do to its connection. */
export interface HandshakeLink {
  /** Moves the connection to its next phase. */
  advance(phase: Phase): void;
  send(frame: Buffer): void;
  closeConnection(err: AmqpError): void;
  /** Drops the socket without a Connection.Close. */
  destroy(): void;
  /** Connection.Open was accepted: the connection's session with the broker begins. */
  openSession(): void;
}

/**
 * The handshake after the protocol header (Start/Start-Ok with PLAIN or AMQPLAIN as guest/guest, Tune/Tune-Ok, Open
 * on vhost `/`), what it settles (frame_max, channel_max), and the heartbeats both ways once it is tuned.
 */
export class Handshake {
  readonly #link: HandshakeLink;
  readonly #limits: ConnectionLimits;
  /** limits.frameMax until Tune-Ok settles it. */
  frameMax: number;
  channelMax = 0;
  #sentSinceBeat = false;
  #receivedSinceBeat = false;
  #silentBeats = 0;
  #heartbeat: NodeJS.Timeout | undefined;
  #deadline: NodeJS.Timeout | undefined;

  constructor(link: HandshakeLink, limits: ConnectionLimits) {
    this.#link = link;
    this.#limits = limits;
    this.frameMax = limits.frameMax;
    this.#deadline = setTimeout(() => link.destroy(), limits.handshakeTimeoutMs);
  }

  /** The client's protocol header was right: Connection.Start. */
  start(): void {
    this.#link.advance('start-ok');
    this.#link.send(encodeMethod(M.ConnectionStart, 0, { versionMajor: 0, versionMinor: 9, serverProperties: SERVER_PROPERTIES, mechanisms: Buffer.from('PLAIN AMQPLAIN'), locales: Buffer.from('en_US') }));
  }

  /** Something came from the client (it is alive, for the heartbeats). */
  received(): void {
    this.#receivedSinceBeat = true;
  }

  /** Something went to the client (no heartbeat frame is due). */
  sent(): void {
    this.#sentSinceBeat = true;
  }

  /** The socket closed: no more deadline or heartbeats. */
  stop(): void {
    clearTimeout(this.#deadline);
    clearInterval(this.#heartbeat);
  }

  /** A method before the connection is open: the one its phase waits for, or a connection error. */
  onMethod(phase: Phase, channel: number, id: number, fields: Record<string, unknown>): void {
    if (channel !== 0 || id !== HANDSHAKE[phase]) throw new AmqpError(504, `unexpected method ${methodName(id)} in connection state ${phase}`);
    switch (phase) {
      case 'start-ok':
        return this.#onStartOk(String(fields.mechanism), fields.response as Buffer);
      case 'tune-ok':
        return this.#onTuneOk(Number(fields.channelMax), Number(fields.frameMax), Number(fields.heartbeat));
      case 'open':
        return this.#onOpen(String(fields.virtualHost));
    }
  }

  #onStartOk(mechanism: string, response: Buffer): void {
    const credentials = readCredentials(mechanism, response);
    if (credentials.user !== USER || credentials.password !== PASSWORD) {
      return this.#link.closeConnection(new AmqpError(403, `Login was refused using authentication mechanism ${mechanism}. For details see the broker logfile.`));
    }
    this.#link.advance('tune-ok');
    this.#link.send(encodeMethod(M.ConnectionTune, 0, { channelMax: this.#limits.channelMax, frameMax: this.#limits.frameMax, heartbeat: this.#limits.heartbeatSeconds }));
  }

  #onTuneOk(channelMax: number, frameMax: number, heartbeat: number): void {
    const negotiated = frameMax === 0 ? this.#limits.frameMax : frameMax;
    if (negotiated < FRAME.MIN_SIZE) return this.#link.closeConnection(new AmqpError(530, `frame_max=${frameMax} < ${FRAME.MIN_SIZE} min size`));
    if (negotiated > this.#limits.frameMax) return this.#link.closeConnection(new AmqpError(530, `frame_max=${frameMax} > ${this.#limits.frameMax} max size`));
    this.frameMax = negotiated;
    this.channelMax = channelMax === 0 ? this.#limits.channelMax : Math.min(channelMax, this.#limits.channelMax);
    if (heartbeat > 0) this.#startHeartbeats(heartbeat);
    this.#link.advance('open');
  }

  #onOpen(vhost: string): void {
    if (vhost !== VHOST) return this.#link.closeConnection(new AmqpError(530, `vhost ${vhost} not found`));
    clearTimeout(this.#deadline);
    this.#link.openSession();
    this.#link.advance('opened');
    this.#link.send(encodeMethod(M.ConnectionOpenOk, 0, { knownHosts: '' }));
  }

  /**
   * Heartbeat frames go out when nothing else did for half the interval; a client silent for two intervals is gone
   * and its socket is closed without a Close, as RabbitMQ does ("missed heartbeats from client").
   */
  #startHeartbeats(seconds: number): void {
    this.#heartbeat = setInterval(() => {
      if (!this.#sentSinceBeat) this.#link.send(HEARTBEAT_FRAME);
      this.#sentSinceBeat = false;
      this.#silentBeats = this.#receivedSinceBeat ? 0 : this.#silentBeats + 1;
      this.#receivedSinceBeat = false;
      if (this.#silentBeats >= 4) this.#link.destroy();
    }, (seconds * 1000) / 2);
  }
}

/** PLAIN's `authzid\0user\0password`, or AMQPLAIN's LOGIN and PASSWORD table. */
function readCredentials(mechanism: string, response: Buffer): { user: string; password: string } {
  if (mechanism === 'PLAIN') {
    const [, user = '', password = ''] = response.toString('utf8').split('\0');
    return { user, password };
  }
  if (mechanism === 'AMQPLAIN') {
    const t = decodeTable(response);
    return { user: String(t.LOGIN ?? ''), password: String(t.PASSWORD ?? '') };
  }
  throw new AmqpError(503, `unknown authentication mechanism '${mechanism}'`);
}
