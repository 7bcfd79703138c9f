import type { Socket } from 'node:net';
import { AmqpError, type Broker, type BrokerChannel, type ChannelSink, type Message, type Publish, type Session } from './broker.ts';
import {
  FRAME,
  M,
  MalformedFrameError,
  PROTOCOL_HEADER,
  BASIC_CLASS,
  classAndMethod,
  contentFrames,
  declaredFrameSize,
  decodeContentHeader,
  decodeMethod,
  encodeMethod,
  methodName,
  parseFrame,
  type ContentHeader,
  type Frame,
} from './codec.ts';
import { DEFAULT_LIMITS, Handshake, type ConnectionLimits, type HandshakeLink, type Phase } from './handshake.ts';

/**
 * One client connection after the TCP accept: frames read and dispatched to the handshake or to broker calls,
 * Basic.Publish content assembled from its header and body frames, replies and deliveries written back, and the
 * channel and connection exceptions that close them.
 */

/** How long a closing connection waits for the client's Close-Ok before dropping the socket. */
const CLOSE_OK_TIMEOUT_MS = 1_000;

interface PendingContent {
  readonly publish: Publish;
  header: ContentHeader | undefined;
  readonly chunks: Buffer[];
  received: number;
}

interface ChannelState {
  readonly broker: BrokerChannel;
  /** We sent Channel.Close: the client's frames are dropped until its Close-Ok. */
  closing: boolean;
  /** A Basic.Publish waiting for its content header and body frames. */
  content: PendingContent | undefined;
}

/**
 * One client connection: the protocol header, the handshake (Start/Start-Ok with PLAIN or AMQPLAIN as guest/guest,
 * Tune/Tune-Ok, Open on vhost `/`), heartbeats both ways, and then frames turned into broker calls and back. Channel
 * exceptions close the channel, connection exceptions the connection, with RabbitMQ's codes and texts.
 */
export class AmqpConnection {
  readonly #socket: Socket;
  readonly #broker: Broker;
  readonly #channels = new Map<number, ChannelState>();
  readonly closed: Promise<void>;
  #session: Session | undefined;
  #phase: Phase = 'header';
  #input: Buffer = Buffer.alloc(0);
  #corked = false;
  /** The handshake, and after it the negotiated frame_max and channel_max and the heartbeats. */
  readonly #handshake: Handshake;

  constructor(socket: Socket, broker: Broker, limits: ConnectionLimits = DEFAULT_LIMITS) {
    this.#socket = socket;
    this.#broker = broker;
    socket.setNoDelay(true);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    // A reset by the peer: 'close' follows and cleans up.
    socket.on('error', () => undefined);
    socket.once('close', () => this.#onSocketClosed());
    this.#handshake = new Handshake(this.#handshakeLink(), limits);
  }

  /** What the handshake may do to this connection. */
  #handshakeLink(): HandshakeLink {
    return {
      advance: (phase) => (this.#phase = phase),
      send: (frame) => this.#send(frame),
      closeConnection: (err) => this.#closeConnection(err),
      destroy: () => this.#socket.destroy(),
      openSession: () => (this.#session = this.#broker.connect()),
    };
  }

  /** The broker is shutting down: Connection.Close 320 CONNECTION_FORCED, as RabbitMQ sends, then the socket ends. */
  shutdown(): Promise<void> {
    if (this.#phase === 'opened') this.#closeConnection(new AmqpError(320, "broker forced connection closure with reason 'shutdown'"));
    else this.#socket.destroy();
    return this.closed;
  }

  #onData(chunk: Buffer): void {
    this.#handshake.received();
    this.#input = this.#input.length === 0 ? chunk : Buffer.concat([this.#input, chunk]);
    try {
      if (this.#phase === 'header' && !this.#readProtocolHeader()) return;
      this.#readFrames();
    } catch (err) {
      this.#closeConnection(asConnectionError(err));
    } finally {
      this.#broker.settle();
    }
  }

  /** A client speaking anything but AMQP 0-9-1 gets the header we speak, and the socket closes (spec 4.2.2). */
  #readProtocolHeader(): boolean {
    if (this.#input.length < PROTOCOL_HEADER.length) return false;
    const header = this.#input.subarray(0, PROTOCOL_HEADER.length);
    this.#input = this.#input.subarray(PROTOCOL_HEADER.length);
    if (!header.equals(PROTOCOL_HEADER)) {
      this.#phase = 'closed';
      this.#socket.end(PROTOCOL_HEADER);
      return false;
    }
    this.#handshake.start();
    return true;
  }

  #readFrames(): void {
    while (this.#phase !== 'closed') {
      const size = declaredFrameSize(this.#input);
      if (size !== undefined && size > this.#handshake.frameMax) throw new AmqpError(501, `frame size ${size} exceeds the negotiated frame_max ${this.#handshake.frameMax}`);
      const parsed = parseFrame(this.#input);
      if (!parsed) return;
      this.#input = parsed.rest;
      this.#onFrame(parsed.frame);
    }
  }

  #onFrame(frame: Frame): void {
    switch (frame.type) {
      case FRAME.HEARTBEAT:
        if (frame.channel !== 0) throw new AmqpError(501, `heartbeat frame on channel ${frame.channel}`);
        return;
      case FRAME.METHOD:
        return this.#onMethodFrame(frame);
      case FRAME.HEADER:
        return this.#onContentHeader(frame);
      case FRAME.BODY:
        return this.#onContentBody(frame);
      default:
        throw new AmqpError(501, `unknown frame type ${frame.type}`);
    }
  }

  #onMethodFrame(frame: Frame): void {
    let method: { id: number; fields: Record<string, unknown> };
    try {
      method = decodeMethod(frame.payload);
    } catch (err) {
      throw new AmqpError(501, `cannot decode method frame on channel ${frame.channel}: ${err instanceof Error ? err.message : String(err)}`);
    }
    const { id, fields } = method;
    if (this.#phase === 'closing') return this.#whileClosing(frame.channel, id);
    if (this.#phase !== 'opened') return this.#handshake.onMethod(this.#phase, frame.channel, id, fields);
    if (frame.channel === 0) return this.#onConnectionMethod(id);
    try {
      this.#onChannelMethod(frame.channel, id, fields);
    } catch (err) {
      // Soft errors were handled on the channel; what reaches here closes the connection, naming the method.
      this.#closeConnection(asConnectionError(err), id);
    }
  }

  /** After our Connection.Close only the client's Close-Ok (or its own Close) matters. */
  #whileClosing(channel: number, id: number): void {
    if (channel !== 0) return;
    if (id === M.ConnectionClose) this.#send(encodeMethod(M.ConnectionCloseOk, 0));
    if (id === M.ConnectionClose || id === M.ConnectionCloseOk) this.#endSocket();
  }


  #onConnectionMethod(id: number): void {
    if (id === M.ConnectionClose) {
      this.#endSession();
      this.#send(encodeMethod(M.ConnectionCloseOk, 0));
      this.#endSocket();
      return;
    }
    throw new AmqpError(503, `unexpected method ${methodName(id)} on channel 0`);
  }

  #onChannelMethod(n: number, id: number, fields: Record<string, unknown>): void {
    const state = this.#channels.get(n);
    if (id === M.ChannelOpen) return this.#openChannel(n, state);
    if (!state) throw new AmqpError(504, "expected 'channel.open'");
    if (state.closing) {
      if (id === M.ChannelCloseOk || id === M.ChannelClose) this.#channels.delete(n);
      if (id === M.ChannelClose) this.#send(encodeMethod(M.ChannelCloseOk, n));
      return;
    }
    if (state.content) throw new AmqpError(505, `expected content header for class ${BASIC_CLASS}, got method ${methodName(id)} instead`);
    this.#onChannel(n, state, id, () => this.#channelMethod(n, state, id, fields));
  }

  #openChannel(n: number, state: ChannelState | undefined): void {
    if (state) throw new AmqpError(504, "second 'channel.open' seen");
    if (n > this.#handshake.channelMax) throw new AmqpError(530, `channel ${n} is above the negotiated channel_max (${this.#handshake.channelMax})`);
    this.#channels.set(n, { broker: this.#session!.openChannel(this.#sinkFor(n)), closing: false, content: undefined });
    this.#send(encodeMethod(M.ChannelOpenOk, n, { channelId: Buffer.alloc(0) }));
  }

  /** Runs a channel's work; a soft error closes just the channel, a hard one the connection, naming the method. */
  #onChannel(n: number, state: ChannelState, id: number, work: () => void): void {
    try {
      work();
    } catch (err) {
      if (err instanceof AmqpError && !err.closesConnection) this.#closeChannel(n, state, err, id);
      else this.#closeConnection(asConnectionError(err), id);
    }
  }

  #channelMethod(n: number, state: ChannelState, id: number, f: Record<string, unknown>): void {
    const ch = state.broker;
    const reply = (method: number, fields: object = {}) => {
      if (!f.nowait) this.#send(encodeMethod(method, n, fields));
    };
    switch (id) {
      case M.ChannelClose:
        ch.close();
        this.#channels.delete(n);
        return this.#send(encodeMethod(M.ChannelCloseOk, n));
      case M.ChannelFlow:
        // RabbitMQ refuses to let a client stop its deliveries this way; consumers use prefetch instead.
        if (!f.active) throw new AmqpError(540, 'active=false');
        return reply(M.ChannelFlowOk, { active: true });
      case M.AccessRequest:
        return reply(M.AccessRequestOk, { ticket: 1 });
      case M.ExchangeDeclare:
        ch.declareExchange({ exchange: str(f.exchange), type: str(f.type), passive: !!f.passive, durable: !!f.durable, autoDelete: !!f.autoDelete, internal: !!f.internal, arguments: table(f.arguments) });
        return reply(M.ExchangeDeclareOk);
      case M.ExchangeDelete:
        ch.deleteExchange(str(f.exchange), { ifUnused: !!f.ifUnused });
        return reply(M.ExchangeDeleteOk);
      case M.QueueDeclare:
        return reply(M.QueueDeclareOk, ch.declareQueue({ queue: str(f.queue), passive: !!f.passive, durable: !!f.durable, exclusive: !!f.exclusive, autoDelete: !!f.autoDelete, arguments: table(f.arguments) }));
      case M.QueueBind:
        ch.bindQueue(str(f.queue), str(f.exchange), str(f.routingKey), table(f.arguments));
        return reply(M.QueueBindOk);
      case M.QueueUnbind:
        ch.unbindQueue(str(f.queue), str(f.exchange), str(f.routingKey), table(f.arguments));
        return this.#send(encodeMethod(M.QueueUnbindOk, n));
      case M.QueuePurge:
        return reply(M.QueuePurgeOk, { messageCount: ch.purgeQueue(str(f.queue)) });
      case M.QueueDelete:
        return reply(M.QueueDeleteOk, { messageCount: ch.deleteQueue(str(f.queue), { ifUnused: !!f.ifUnused, ifEmpty: !!f.ifEmpty }) });
      case M.BasicQos:
        ch.qos(Number(f.prefetchSize), Number(f.prefetchCount), !!f.global);
        return reply(M.BasicQosOk);
      case M.BasicConsume:
        return reply(M.BasicConsumeOk, { consumerTag: ch.consume({ queue: str(f.queue), consumerTag: str(f.consumerTag), noAck: !!f.noAck, exclusive: !!f.exclusive }) });
      case M.BasicCancel:
        ch.cancel(str(f.consumerTag));
        return reply(M.BasicCancelOk, { consumerTag: str(f.consumerTag) });
      case M.BasicPublish:
        state.content = { publish: { exchange: str(f.exchange), routingKey: str(f.routingKey), mandatory: !!f.mandatory, immediate: !!f.immediate }, header: undefined, chunks: [], received: 0 };
        return;
      case M.BasicGet:
        return this.#get(n, ch, str(f.queue), !!f.noAck);
      case M.BasicAck:
        return ch.ack(Number(f.deliveryTag), !!f.multiple);
      case M.BasicReject:
        return ch.nack(Number(f.deliveryTag), false, !!f.requeue);
      case M.BasicNack:
        return ch.nack(Number(f.deliveryTag), !!f.multiple, !!f.requeue);
      case M.BasicRecover:
        ch.recover(!!f.requeue);
        return this.#send(encodeMethod(M.BasicRecoverOk, n));
      case M.BasicRecoverAsync:
        return ch.recover(!!f.requeue);
      case M.ConfirmSelect:
        ch.confirmSelect();
        return reply(M.ConfirmSelectOk);
      case M.TxSelect:
      case M.TxCommit:
      case M.TxRollback:
      case M.ExchangeBind:
      case M.ExchangeUnbind:
        throw new AmqpError(540, `${methodName(id)} is not supported by the embedded broker`);
      default:
        throw new AmqpError(503, `unexpected method ${methodName(id)} on channel ${n}`);
    }
  }

  #get(n: number, ch: BrokerChannel, queue: string, noAck: boolean): void {
    const got = ch.get(queue, noAck);
    if (!got) return this.#send(encodeMethod(M.BasicGetEmpty, n, { clusterId: '' }));
    const { message: m } = got;
    this.#sendContent(n, encodeMethod(M.BasicGetOk, n, { deliveryTag: got.deliveryTag, redelivered: got.redelivered, exchange: m.exchange, routingKey: m.routingKey, messageCount: got.messageCount }), m);
  }

  #onContentHeader(frame: Frame): void {
    const state = this.#contentChannel(frame.channel);
    if (!state) return;
    if (!state.content || state.content.header) throw new AmqpError(505, `unexpected content header on channel ${frame.channel}`);
    const header = decodeContentHeader(frame.payload);
    if (header.classId !== BASIC_CLASS) throw new AmqpError(501, `content header for class ${header.classId}, expected ${BASIC_CLASS}`);
    state.content.header = header;
    if (header.bodySize === 0) this.#publish(frame.channel, state);
  }

  #onContentBody(frame: Frame): void {
    const state = this.#contentChannel(frame.channel);
    if (!state) return;
    const content = state.content;
    if (!content?.header) throw new AmqpError(505, `unexpected content body on channel ${frame.channel}`);
    // Copied: the frame is a slice of the socket's read buffer, which must not live as long as the message.
    content.chunks.push(Buffer.from(frame.payload));
    content.received += frame.payload.length;
    if (content.received > content.header.bodySize) throw new AmqpError(501, `content body of ${content.received} bytes exceeds the ${content.header.bodySize} its header announced`);
    if (content.received === content.header.bodySize) this.#publish(frame.channel, state);
  }

  /** The channel a content frame belongs to; undefined if it is closing (the frame is dropped). */
  #contentChannel(n: number): ChannelState | undefined {
    if (this.#phase === 'closing') return undefined;
    if (this.#phase !== 'opened') throw new AmqpError(505, `content frame on channel ${n} before the connection is open`);
    const state = this.#channels.get(n);
    if (!state) throw new AmqpError(504, "expected 'channel.open'");
    return state.closing ? undefined : state;
  }

  #publish(n: number, state: ChannelState): void {
    const content = state.content!;
    state.content = undefined;
    const body = content.chunks.length === 1 ? content.chunks[0]! : Buffer.concat(content.chunks);
    this.#onChannel(n, state, M.BasicPublish, () => state.broker.publish(content.publish, content.header!.properties, body));
  }

  #sinkFor(n: number): ChannelSink {
    return {
      deliver: (consumerTag, deliveryTag, redelivered, m) => this.#sendContent(n, encodeMethod(M.BasicDeliver, n, { consumerTag, deliveryTag, redelivered, exchange: m.exchange, routingKey: m.routingKey }), m),
      returnUnroutable: (m) => this.#sendContent(n, encodeMethod(M.BasicReturn, n, { replyCode: 312, replyText: 'NO_ROUTE', exchange: m.exchange, routingKey: m.routingKey }), m),
      confirm: (deliveryTag, multiple) => this.#send(encodeMethod(M.BasicAck, n, { deliveryTag, multiple })),
      cancelConsumer: (consumerTag) => this.#send(encodeMethod(M.BasicCancel, n, { consumerTag, nowait: true })),
    };
  }

  #sendContent(n: number, method: Buffer, m: Message): void {
    this.#send(method);
    for (const frame of contentFrames(n, m.properties, m.body, this.#handshake.frameMax)) this.#send(frame);
  }

  /** A channel exception: the channel's work is undone at once, and frames are dropped until the client's Close-Ok. */
  #closeChannel(n: number, state: ChannelState, err: AmqpError, id: number): void {
    state.broker.close();
    state.closing = true;
    state.content = undefined;
    this.#send(encodeMethod(M.ChannelClose, n, { replyCode: err.code, replyText: err.message, ...classAndMethod(id) }));
  }

  /** A connection exception (or a refused login, or a shutdown): Connection.Close, then the socket goes after Close-Ok. */
  #closeConnection(err: AmqpError, id = 0): void {
    if (this.#phase === 'closing' || this.#phase === 'closed') return;
    this.#endSession();
    this.#send(encodeMethod(M.ConnectionClose, 0, { replyCode: err.code, replyText: err.message, ...(id === 0 ? { classId: 0, methodId: 0 } : classAndMethod(id)) }));
    this.#phase = 'closing';
    setTimeout(() => this.#socket.destroy(), CLOSE_OK_TIMEOUT_MS).unref();
  }

  #endSocket(): void {
    this.#phase = 'closed';
    this.#socket.end();
  }

  /** Channels close (their unacknowledged messages go back to their queues) and exclusive queues are deleted. */
  #endSession(): void {
    this.#session?.close();
    this.#session = undefined;
    this.#channels.clear();
  }

  #onSocketClosed(): void {
    this.#phase = 'closed';
    this.#handshake.stop();
    this.#endSession();
    this.#broker.settle();
  }

  /** Writes are corked for the rest of the turn, so a turn's frames leave in one write. */
  #send(frame: Buffer): void {
    if (this.#socket.destroyed || !this.#socket.writable) return;
    if (!this.#corked) {
      this.#corked = true;
      this.#socket.cork();
      process.nextTick(() => {
        this.#corked = false;
        this.#socket.uncork();
      });
    }
    this.#socket.write(frame);
    this.#handshake.sent();
  }
}

function asConnectionError(err: unknown): AmqpError {
  if (err instanceof AmqpError) return err;
  if (err instanceof MalformedFrameError) return new AmqpError(501, err.message);
  return new AmqpError(541, err instanceof Error ? err.message : String(err));
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function table(v: unknown): Record<string, unknown> {
  return v !== null && typeof v === 'object' ? { ...(v as Record<string, unknown>) } : {};
}
