import { connect as tcpConnect, type Socket } from 'node:net';
import amqp from 'amqplib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { describeRabbitMQContract } from '../contract.ts';
import { Broker } from './broker.ts';
import { FRAME, M, PROTOCOL_HEADER, decodeMethod, encodeMethod, parseFrame, type Frame } from './codec.ts';
import { DEFAULT_LIMITS, listenAmqp, type AmqpListener } from './connection.ts';

describe('the embedded broker in this process', () => {
  let listener: AmqpListener;
  beforeAll(async () => {
    listener = await listenAmqp(new Broker(), { port: 0 });
  });
  afterAll(async () => {
    await listener.close();
  });

  describeRabbitMQContract('embedded broker, in process', async () => {
    const url = `amqp://guest:guest@127.0.0.1:${listener.port}`;
    return { url, connect: () => amqp.connect(url) };
  });
});

describe('AmqpConnection at the wire', () => {
  let listener: AmqpListener;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    listener = await listenAmqp(new Broker(), { port: 0, limits: { ...DEFAULT_LIMITS, heartbeatSeconds: 1 } });
  });
  afterEach(() => {
    for (const s of sockets.splice(0)) s.destroy();
  });
  afterAll(async () => {
    await listener.close();
  });

  const raw = async () => {
    const client = await RawClient.connect(listener.port);
    sockets.push(client.socket);
    return client;
  };

  it('answers a wrong protocol header with the AMQP 0-9-1 header and closes', async () => {
    const c = await raw();
    c.socket.write('GET / HTTP/1.1\r\n\r\n');
    await c.closed;
    expect(c.received.subarray(0, 8).equals(PROTOCOL_HEADER)).toBe(true);
    expect(c.received.length).toBe(8);
  });

  it('offers PLAIN and AMQPLAIN in en_US, tunes frame_max 131072 and the heartbeat, and accepts AMQPLAIN', async () => {
    const c = await raw();
    c.socket.write(PROTOCOL_HEADER);
    const start = await c.method(M.ConnectionStart);
    expect(start.fields).toMatchObject({ versionMajor: 0, versionMinor: 9 });
    expect(String(start.fields.mechanisms)).toBe('PLAIN AMQPLAIN');
    expect(String(start.fields.locales)).toBe('en_US');
    const conn = await amqp.connect(`amqp://127.0.0.1:${listener.port}`, { credentials: amqp.credentials.amqplain('guest', 'guest') });
    const tuned = conn.connection as unknown as { frameMax: number; heartbeat: number };
    expect(tuned.frameMax).toBe(131_072);
    expect(tuned.heartbeat).toBe(1);
    await conn.close();
  });

  it('refuses a vhost other than / with 530 NOT_ALLOWED', async () => {
    const c = await raw();
    await c.handshake({ vhost: '/builds' });
    const close = await c.method(M.ConnectionClose);
    expect(close.fields).toMatchObject({ replyCode: 530, replyText: 'NOT_ALLOWED - vhost /builds not found' });
  });

  it('closes the connection with 501 FRAME_ERROR on a bad frame-end octet', async () => {
    const c = await raw();
    await c.handshake();
    const frame = encodeMethod(M.ChannelOpen, 1, {});
    frame[frame.length - 1] = 0;
    c.socket.write(frame);
    expect((await c.method(M.ConnectionClose)).fields).toMatchObject({ replyCode: 501 });
  });

  it('closes the connection with 504 CHANNEL_ERROR on a method for a channel that was never opened', async () => {
    const c = await raw();
    await c.handshake();
    c.socket.write(encodeMethod(M.QueueDeclare, 3, { queue: 'q', arguments: {} }));
    const close = await c.method(M.ConnectionClose);
    expect(close.fields).toMatchObject({ replyCode: 504, replyText: "CHANNEL_ERROR - expected 'channel.open'", classId: 50, methodId: 10 });
    c.socket.write(encodeMethod(M.ConnectionCloseOk, 0));
    await c.closed;
  });

  it('closes the connection with 505 UNEXPECTED_FRAME on content without a publish', async () => {
    const c = await raw();
    await c.handshake();
    c.socket.write(encodeMethod(M.ChannelOpen, 1, {}));
    await c.method(M.ChannelOpenOk);
    c.socket.write(Buffer.from([FRAME.BODY, 0, 1, 0, 0, 0, 1, 0x41, FRAME.END]));
    expect((await c.method(M.ConnectionClose)).fields).toMatchObject({ replyCode: 505 });
  });

  it('closes the connection with 501 FRAME_ERROR on a frame larger than the negotiated frame_max', async () => {
    const c = await raw();
    await c.handshake({ frameMax: 4096 });
    const header = Buffer.from([FRAME.BODY, 0, 1, 0, 0, 0x20, 0]);
    c.socket.write(header);
    expect((await c.method(M.ConnectionClose)).fields).toMatchObject({ replyCode: 501 });
  });

  it('sends heartbeats, and drops a client that sends nothing for two heartbeat intervals', async () => {
    const c = await raw();
    await c.handshake({ heartbeat: 1 });
    await c.frame((f) => f.type === FRAME.HEARTBEAT);
    const started = Date.now();
    await c.closed;
    const silentFor = Date.now() - started;
    expect(silentFor).toBeGreaterThan(1_000);
    expect(silentFor).toBeLessThan(4_000);
  });

  it('on shutdown closes its clients with 320 CONNECTION_FORCED', async () => {
    const own = await listenAmqp(new Broker(), { port: 0 });
    const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${own.port}`);
    // amqplib reports 320 by the close event's argument, not as an error event.
    const closedWith = new Promise<Error>((resolve) => conn.once('close', resolve));
    await own.close();
    expect((await closedWith).message).toMatch(/320 \(CONNECTION-FORCED\).*broker forced connection closure with reason 'shutdown'/);
  });
});

/** A client that speaks frames by hand, for what amqplib never sends. */
class RawClient {
  received: Buffer = Buffer.alloc(0);
  #pending: Buffer = Buffer.alloc(0);
  readonly #frames: Frame[] = [];
  #wake: (() => void) | undefined;
  readonly closed: Promise<void>;

  private constructor(readonly socket: Socket) {
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
      this.#pending = Buffer.concat([this.#pending, chunk]);
      for (let p = parseFrame(this.#pending); p; p = parseFrame(this.#pending)) {
        this.#frames.push(p.frame);
        this.#pending = p.rest;
      }
      this.#wake?.();
    });
    socket.on('error', () => undefined);
  }

  static connect(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = tcpConnect(port, '127.0.0.1', () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  async frame(match: (f: Frame) => boolean): Promise<Frame> {
    const deadline = Date.now() + 5_000;
    for (;;) {
      const i = this.#frames.findIndex(match);
      if (i >= 0) return this.#frames.splice(i, 1)[0]!;
      if (Date.now() > deadline) throw new Error('no such frame within 5 s');
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        setTimeout(resolve, 50);
      });
    }
  }

  async method(id: number): Promise<{ id: number; fields: Record<string, unknown> }> {
    const f = await this.frame((x) => x.type === FRAME.METHOD && x.payload.readUInt32BE(0) === id);
    return decodeMethod(f.payload);
  }

  async handshake(o: { vhost?: string; frameMax?: number; heartbeat?: number } = {}): Promise<void> {
    this.socket.write(PROTOCOL_HEADER);
    await this.method(M.ConnectionStart);
    this.socket.write(encodeMethod(M.ConnectionStartOk, 0, { clientProperties: {}, mechanism: 'PLAIN', response: Buffer.from('\0guest\0guest'), locale: 'en_US' }));
    await this.method(M.ConnectionTune);
    this.socket.write(encodeMethod(M.ConnectionTuneOk, 0, { channelMax: 0, frameMax: o.frameMax ?? 131_072, heartbeat: o.heartbeat ?? 0 }));
    this.socket.write(encodeMethod(M.ConnectionOpen, 0, { virtualHost: o.vhost ?? '/' }));
    if ((o.vhost ?? '/') === '/') await this.method(M.ConnectionOpenOk);
  }
}
