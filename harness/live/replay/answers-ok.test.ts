import { createServer, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { answersOk } from './answers-ok.ts';

/** What is left open by a case: servers to close, responses to end, sockets to destroy. */
const open: (() => void)[] = [];
afterEach(() => {
  for (const close of open.splice(0)) close();
});

const listen = async (s: Server | TcpServer): Promise<number> => {
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as AddressInfo).port;
};

/** An HTTP server that answers each request with `respond`. */
async function http(respond: (res: ServerResponse) => void): Promise<string> {
  const held: ServerResponse[] = [];
  const s = createServer((_req, res) => (held.push(res), respond(res)));
  const port = await listen(s);
  open.push(() => {
    for (const r of held) r.destroy();
    s.close();
  });
  return `http://127.0.0.1:${port}/v1/status/leader`;
}

describe('answersOk (the replay tick\'s poll of the Nomad server, the UI requests)', () => {
  it('is true for a 2xx answer and false for a 500', async () => {
    expect(await answersOk(await http((res) => res.end('"127.0.0.1:4647"')), 2_000)).toBe(true);
    expect(await answersOk(await http((res) => ((res.statusCode = 500), res.end('no leader'))), 2_000)).toBe(false);
  });

  it('is false, without rejecting, when the server sends its headers and stalls in the body past the limit (the TimeoutError of the body read)', async () => {
    const url = await http((res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.flushHeaders();
    });
    const t0 = Date.now();
    await expect(answersOk(url, 300)).resolves.toBe(false);
    expect(Date.now() - t0).toBeLessThan(5_000);
  });

  it('is false when a blackholed server takes the connection and never answers, and when nothing listens', async () => {
    const sockets: Socket[] = [];
    const hole = createTcpServer((s) => void sockets.push(s));
    const port = await listen(hole);
    open.push(() => {
      for (const s of sockets) s.destroy();
      hole.close();
    });
    await expect(answersOk(`http://127.0.0.1:${port}/v1/status/leader`, 300)).resolves.toBe(false);
    const gone = createTcpServer();
    const closedPort = await listen(gone);
    await new Promise((r) => gone.close(r));
    await expect(answersOk(`http://127.0.0.1:${closedPort}/`, 300)).resolves.toBe(false);
  });
});
