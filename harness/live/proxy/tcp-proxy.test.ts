import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { TcpProxy } from './tcp-proxy.ts';

/** An in-process server that answers with `reply(data)` for every chunk (an echo by default). */
interface TestServer {
  readonly port: number;
  readonly accepted: () => number;
  close(): Promise<void>;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startServer(onSocket: (socket: Socket) => void = (s) => s.pipe(s), opts: { allowHalfOpen?: boolean } = {}): Promise<TestServer> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server: Server = createServer(opts, (socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('close', () => sockets.delete(socket));
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  cleanups.push(close);
  return { port: (server.address() as AddressInfo).port, accepted: () => accepted, close };
}

async function startProxy(targetPort: number): Promise<TcpProxy> {
  const proxy = await TcpProxy.start({ name: 'echo', target: { host: '127.0.0.1', port: targetPort } });
  cleanups.push(() => proxy.close());
  return proxy;
}

/** A connected client; its errors are recorded by `ended`, never thrown. */
async function dial(port: number): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port });
  socket.on('error', () => undefined);
  cleanups.push(async () => void socket.destroy());
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('close', () => reject(new Error('closed before connecting')));
  });
  return socket;
}

/** How a socket ended: the error code if it was reset, or `eof`; `open` if it is still open after `withinMs`. */
function ended(socket: Socket, withinMs = 2_000): Promise<string> {
  if (socket.destroyed) return Promise.resolve('closed already');
  return new Promise((resolve) => {
    let code = 'eof';
    const timer = setTimeout(() => resolve('open'), withinMs);
    socket.on('error', (err: NodeJS.ErrnoException) => (code = err.code ?? err.message));
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** Writes `data` and waits for `expectedBytes` back; undefined if they have not all come within `withinMs`. */
function exchange(socket: Socket, data: Buffer | string | readonly Uint8Array[], expectedBytes: number, withinMs = 2_000): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const finish = (result: Buffer | undefined) => {
      clearTimeout(timer);
      socket.off('data', onData);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
      if (received >= expectedBytes) finish(Buffer.concat(chunks));
    };
    const timer = setTimeout(() => finish(undefined), withinMs);
    socket.on('data', onData);
    for (const part of Array.isArray(data) ? data : [data]) socket.write(part);
  });
}

describe('TcpProxy', () => {
  it('relays bytes both ways and counts them', async () => {
    const echo = await startServer();
    const proxy = await startProxy(echo.port);
    expect(proxy.host).toBe('127.0.0.1');
    expect(proxy.port).not.toBe(echo.port);
    expect(proxy.state).toBe('open');

    const client = await dial(proxy.port);
    expect((await exchange(client, 'hello', 5))?.toString()).toBe('hello');
    expect(proxy.stats).toEqual({ accepted: 1, active: 1, bytesToTarget: 5, bytesToClient: 5, refusedWhileCut: 0 });

    client.end();
    await ended(client);
    await expect.poll(() => proxy.stats.active).toBe(0);
  });

  it("cut('reset') resets open connections and every new one; heal() forwards again", async () => {
    const echo = await startServer();
    const proxy = await startProxy(echo.port);
    const before = await dial(proxy.port);
    expect((await exchange(before, 'ping', 4))?.toString()).toBe('ping');

    const beforeEnded = ended(before);
    proxy.cut('reset');
    expect(proxy.state).toBe('reset');
    expect(await beforeEnded).toBe('ECONNRESET');
    expect(proxy.stats.active).toBe(0);

    // The handshake is completed by the kernel before the proxy sees the connection, so a new client connects
    // and is reset at once: what a client of an unreachable host answering with RST sees.
    const during = connect({ host: '127.0.0.1', port: proxy.port });
    during.on('error', () => undefined);
    expect(await ended(during)).toMatch(/ECONNRESET|eof/);
    expect(echo.accepted()).toBe(1);
    expect(proxy.stats.refusedWhileCut).toBe(1);

    proxy.heal();
    expect(proxy.state).toBe('open');
    const after = await dial(proxy.port);
    expect((await exchange(after, 'again', 5))?.toString()).toBe('again');
    expect(echo.accepted()).toBe(2);
  });

  it("cut('blackhole') holds connections open with nothing passing; heal() resets them and forwards new ones", async () => {
    const echo = await startServer();
    const proxy = await startProxy(echo.port);
    const before = await dial(proxy.port);
    expect((await exchange(before, 'ping', 4))?.toString()).toBe('ping');

    proxy.cut('blackhole');
    const during = await dial(proxy.port);
    const [beforeReply, duringReply] = await Promise.all([exchange(before, 'lost?', 5, 300), exchange(during, 'lost?', 5, 300)]);
    expect(beforeReply).toBeUndefined();
    expect(duringReply).toBeUndefined();
    expect(before.destroyed || during.destroyed).toBe(false);
    expect(echo.accepted()).toBe(1);
    expect(proxy.stats).toMatchObject({ accepted: 2, active: 2, bytesToTarget: 4, bytesToClient: 4, refusedWhileCut: 1 });

    const beforeEnded = ended(before);
    const duringEnded = ended(during);
    proxy.heal();
    expect(await beforeEnded).toBe('ECONNRESET');
    expect(await duringEnded).toBe('ECONNRESET');

    const after = await dial(proxy.port);
    expect((await exchange(after, 'back', 4))?.toString()).toBe('back');
  });

  it('relays a half-close: a client that ends its side still gets the reply', async () => {
    const reverser = await startServer(
      (socket) => {
        const chunks: Buffer[] = [];
        socket.on('data', (c: Buffer) => chunks.push(c));
        socket.on('end', () => socket.end(Buffer.concat(chunks).reverse()));
      },
      { allowHalfOpen: true },
    );
    const proxy = await startProxy(reverser.port);
    const client = await dial(proxy.port);
    const reply = exchange(client, [], 3);
    client.end('abc');
    expect((await reply)?.toString()).toBe('cba');
    expect(await ended(client)).toBe('eof');
  });

  it('resets the client when the target refuses, and retarget() sends new connections elsewhere', async () => {
    const gone = await startServer();
    await gone.close();
    const proxy = await startProxy(gone.port);
    const refused = connect({ host: '127.0.0.1', port: proxy.port });
    refused.on('error', () => undefined);
    expect(await ended(refused)).toMatch(/ECONNRESET|eof/);

    const other = await startServer((s) => s.on('data', () => s.write('other')));
    proxy.retarget({ host: '127.0.0.1', port: other.port });
    expect(proxy.target.port).toBe(other.port);
    const client = await dial(proxy.port);
    expect((await exchange(client, 'x', 5))?.toString()).toBe('other');
  });

  it('close() resets connections, frees the port, is idempotent, and makes cut/heal no-ops', async () => {
    const echo = await startServer();
    let port = 0;
    let clientEnded: Promise<string> | undefined;
    {
      await using proxy = await TcpProxy.start({ name: 'echo', target: { host: '127.0.0.1', port: echo.port } });
      port = proxy.port;
      const client = await dial(port);
      expect((await exchange(client, 'hi', 2))?.toString()).toBe('hi');
      clientEnded = ended(client);
      await proxy.close();
      await proxy.close();
      proxy.cut();
      proxy.heal();
      expect(proxy.state).toBe('closed');
    }
    expect(await clientEnded).toBe('ECONNRESET');
    const reuse = createServer();
    await new Promise<void>((resolve, reject) => {
      reuse.once('error', reject);
      reuse.listen(port, '127.0.0.1', resolve);
    });
    await new Promise<void>((resolve) => reuse.close(() => resolve()));
  });

  it('relays 200 concurrent connections, each to its own reply', async () => {
    const echo = await startServer();
    const proxy = await startProxy(echo.port);
    const clients = await Promise.all(Array.from({ length: 200 }, () => dial(proxy.port)));
    const replies = await Promise.all(clients.map((c, i) => exchange(c, `client-${i};`.repeat(50), `client-${i};`.length * 50, 10_000)));
    replies.forEach((reply, i) => expect(reply?.toString()).toBe(`client-${i};`.repeat(50)));
    expect(proxy.stats.accepted).toBe(200);
    expect(proxy.stats.active).toBe(200);
    expect(proxy.stats.bytesToTarget).toBe(proxy.stats.bytesToClient);
  });

  it('property: any sequence of chunks arrives intact and in order', async () => {
    const echo = await startServer();
    const proxy = await startProxy(echo.port);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({ minLength: 1, maxLength: 70_000 }), { minLength: 1, maxLength: 12 }), async (chunks) => {
        const client = await dial(proxy.port);
        const sent = Buffer.concat(chunks);
        const reply = await exchange(client, chunks, sent.length, 5_000);
        client.destroy();
        expect(reply?.equals(sent)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });
});
