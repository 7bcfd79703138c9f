import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { requestJson } from './http-util.ts';

const servers: http.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r)).catch(() => undefined);
  for (const s of servers) s.closeAllConnections();
});

/** A server answering each request with `answer(body)`, or never when it returns undefined. */
async function serve(answer: (method: string, body: string) => { status: number; body: string } | undefined): Promise<string> {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      const a = answer(req.method ?? '', body);
      if (a === undefined) return;
      res.statusCode = a.status;
      res.end(a.body);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('requestJson', () => {
  it('sends the JSON body and reads the status and the JSON answer', async () => {
    const url = await serve((method, body) => ({ status: 201, body: JSON.stringify({ method, got: JSON.parse(body) as unknown }) }));
    await expect(requestJson('POST', `${url}/vms`, { kind: 'machine' }, 2_000)).resolves.toEqual({ status: 201, body: { method: 'POST', got: { kind: 'machine' } } });
  });

  it('reports a refusal by its status, with a body that is not JSON as undefined', async () => {
    const url = await serve(() => ({ status: 503, body: 'down' }));
    await expect(requestJson('DELETE', `${url}/vms/i-1`, undefined, 2_000)).resolves.toEqual({ status: 503, body: undefined });
  });

  it('rejects, naming the URL and the limit, when no answer comes within the limit', async () => {
    const url = await serve(() => undefined);
    const t0 = Date.now();
    await expect(requestJson('POST', `${url}/builds/1/start`, {}, 200)).rejects.toThrow(/no answer from http:\/\/127\.0\.0\.1:\d+\/builds\/1\/start within 200 ms/);
    expect(Date.now() - t0).toBeLessThan(2_000);
  });

  it('rejects when nothing listens', async () => {
    const url = await serve(() => ({ status: 200, body: '{}' }));
    await new Promise((r) => servers.pop()!.close(r));
    await expect(requestJson('POST', `${url}/x`, {}, 1_000)).rejects.toThrow();
  });
});
