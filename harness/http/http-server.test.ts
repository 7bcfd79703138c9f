import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpError } from './http-error.ts';
import { HttpListenError, jsonErrors, listenHttp, plainTextErrors, sendJson, type HttpServerOptions, type ListeningHttp } from './http-server.ts';
import { HttpRoutes } from './routes.ts';

let server: ListeningHttp | undefined;
afterEach(async () => {
  server?.kill();
  server = undefined;
});

class ShelfError extends Error {}

function routes(): HttpRoutes {
  return new HttpRoutes()
    .get('/items/:id', (r) => sendJson(r.res, 200, { id: r.params.id, q: r.query.get('q') }))
    .put('/items/:id', async (r) => sendJson(r.res, 200, { size: (await r.buffer()).length }))
    .post('/items', async (r) => sendJson(r.res, 201, { got: await r.json() }))
    .get('/files/*', (r) => sendJson(r.res, 200, { rest: r.params['*'], raw: r.path }))
    .get('/teapot', () => {
      throw new HttpError(418, 'TEAPOT', 'short and stout', { headers: { 'x-why': 'because' }, details: { hint: 'use a kettle' } });
    })
    .get('/shelf', () => {
      throw new ShelfError('shelf is full');
    })
    .get('/bug', () => {
      throw new TypeError('undefined is not a function');
    })
    .get('/silent', () => undefined)
    .get('/half', (r) => {
      r.res.writeHead(200, { 'content-length': '100' });
      r.res.write('{"partial":');
      throw new Error('failed half way');
    })
    .get('/slow', async (r) => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      sendJson(r.res, 200, { slow: true });
    });
}

async function serve(extra: Partial<HttpServerOptions> = {}): Promise<ListeningHttp> {
  server = await listenHttp({
    name: 'test',
    routes: routes(),
    errors: jsonErrors,
    maxBodyBytes: 64,
    translate: (e) => (e instanceof ShelfError ? new HttpError(507, 'FULL', e.message) : undefined),
    ...extra,
  });
  return server;
}

async function call(path: string, init: RequestInit = {}): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(`${server!.url}${path}`, init);
  const text = await res.text();
  return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>), headers: res.headers };
}

describe('routing', () => {
  it('matches methods and parameters, decodes parameters, parses the query, ignores a trailing slash', async () => {
    await serve();
    expect(await call('/items/a%20b?q=x+y')).toMatchObject({ status: 200, body: { id: 'a b', q: 'x y' } });
    expect(await call('/items/7/')).toMatchObject({ status: 200, body: { id: '7', q: null } });
    expect(await call('/files/a/b%2Fc.txt')).toMatchObject({ status: 200, body: { rest: 'a/b/c.txt', raw: '/files/a/b%2Fc.txt' } });
  });

  it('answers 405 with Allow for a known path and a wrong method, 404 for an unknown path', async () => {
    await serve();
    const wrong = await call('/items/7', { method: 'DELETE' });
    expect([wrong.status, wrong.headers.get('allow'), wrong.body.code]).toEqual([405, 'GET, HEAD, PUT', 'METHOD_NOT_ALLOWED']);
    expect(wrong.body.error).toBe('DELETE is not allowed on /items/7; allowed: GET, HEAD, PUT');
    const unknown = await call('/nothing/here');
    expect([unknown.status, unknown.headers.get('allow'), unknown.body.code]).toEqual([404, null, 'NOT_FOUND']);
    const badUrl = await call('/items/%E0%A4%A');
    expect([badUrl.status, badUrl.body.code, badUrl.body.error]).toEqual([400, 'MALFORMED_URL', 'the path /items/%E0%A4%A is not valid percent-encoding']);
  });

  it('serves HEAD from the GET route, without a body', async () => {
    await serve();
    const res = await fetch(`${server!.url}/items/7`, { method: 'HEAD' });
    expect([res.status, await res.text(), res.headers.get('content-type')]).toEqual([200, '', 'application/json']);
  });
});

describe('bodies', () => {
  it('answers malformed JSON with 400 and the position, never 500', async () => {
    await serve();
    const res = await call('/items', { method: 'POST', body: '{"sha": }' });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'MALFORMED_JSON', position: 8, line: 1, column: 9 });
    expect(await call('/items', { method: 'POST', body: '{"sha":"abc"}' })).toMatchObject({ status: 201, body: { got: { sha: 'abc' } } });
  });

  it('takes a body at the limit and refuses one past it with 413, declared or streamed', async () => {
    await serve();
    expect(await call('/items/1', { method: 'PUT', body: 'x'.repeat(64) })).toMatchObject({ status: 200, body: { size: 64 } });
    const declared = await call('/items/1', { method: 'PUT', body: 'x'.repeat(65) });
    expect([declared.status, declared.body.code, declared.headers.get('connection')]).toEqual([413, 'PAYLOAD_TOO_LARGE', 'close']);
    // Chunked: no Content-Length, so the limit is found while reading.
    const streamed = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${server!.url}/items/1`, { method: 'PUT' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.write('x'.repeat(40));
      setTimeout(() => req.end('y'.repeat(40)), 20);
    });
    expect(streamed).toBe(413);
  });

  it('refuses a declared length past the limit before reading a byte of the body', async () => {
    const s = await serve();
    const socket = connect(s.port, '127.0.0.1');
    socket.write('PUT /items/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n');
    const head = await new Promise<string>((resolve) => socket.once('data', (d: Buffer) => resolve(d.toString('latin1'))));
    socket.destroy();
    expect(head).toMatch(/^HTTP\/1.1 413 /);
  });
});

describe('errors', () => {
  it("words an HttpError through the server's mapper, with its headers and details", async () => {
    await serve();
    const res = await call('/teapot');
    expect([res.status, res.headers.get('x-why'), res.body]).toEqual([418, 'because', { code: 'TEAPOT', error: 'short and stout', hint: 'use a kettle' }]);
  });

  it("translates the server's own errors, makes anything else a 500 and reports it", async () => {
    const seen: string[] = [];
    await serve({ onUnexpectedError: (e, r) => seen.push(`${r.method} ${r.path}: ${(e as Error).message}`) });
    expect(await call('/shelf')).toMatchObject({ status: 507, body: { code: 'FULL', error: 'shelf is full' } });
    expect(await call('/bug')).toMatchObject({ status: 500, body: { code: 'INTERNAL_ERROR', error: 'undefined is not a function' } });
    expect(await call('/silent')).toMatchObject({ status: 500, body: { error: 'test: the handler of GET /silent returned without answering' } });
    expect(seen).toEqual(['GET /bug: undefined is not a function', 'GET /silent: test: the handler of GET /silent returned without answering']);
  });

  it('cuts the connection when a handler fails after its answer began', async () => {
    await serve();
    // Node may not have flushed the head yet: either the fetch or the body read fails, never a complete answer.
    await expect(fetch(`${server!.url}/half`).then((res) => res.text())).rejects.toThrow();
  });

  it('plain-text mapper (Nomad) answers the message as text', async () => {
    await serve({ errors: plainTextErrors });
    const res = await fetch(`${server!.url}/nothing`);
    expect([res.status, res.headers.get('content-type'), await res.text()]).toEqual([404, 'text/plain; charset=utf-8', 'no route for GET /nothing\n']);
  });
});

describe('listening and closing', () => {
  it('listens on loopback only, and says which port it could not take', async () => {
    await expect(listenHttp({ name: 'x', routes: routes(), errors: jsonErrors, host: '0.0.0.0' })).rejects.toThrow(/loopback only, not on 0.0.0.0/);
    const first = await serve();
    const taken = listenHttp({ name: 'second', routes: routes(), errors: jsonErrors, port: first.port });
    await expect(taken).rejects.toBeInstanceOf(HttpListenError);
    await expect(taken).rejects.toMatchObject({ code: 'EADDRINUSE', message: `second: could not listen on 127.0.0.1:${first.port}: EADDRINUSE` });
  });

  it('close() lets a request in flight finish, ends idle keep-alive connections, and frees the port', async () => {
    const s = await serve();
    const idle = connect(s.port, '127.0.0.1');
    await new Promise((resolve) => idle.once('connect', resolve));
    const slow = call('/slow');
    await new Promise((resolve) => setTimeout(resolve, 50));
    const t0 = performance.now();
    await s.close();
    expect(performance.now() - t0).toBeLessThan(1_500);
    expect(await slow).toMatchObject({ status: 200, body: { slow: true } });
    expect(s.connections).toBe(0);
    const again = await listenHttp({ name: 'again', routes: routes(), errors: jsonErrors, port: s.port });
    again.kill();
  });

  it('close() cuts a request still in flight after the grace period', async () => {
    const s = await serve({ closeGraceMs: 50 });
    const cut = expect(call('/slow')).rejects.toThrow();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await s.close();
    await cut;
  });

  it('kill() stops answering at once', async () => {
    const s = await serve();
    const slow = call('/slow');
    await new Promise((resolve) => setTimeout(resolve, 50));
    s.kill();
    await expect(slow).rejects.toThrow();
    await expect(fetch(`${s.url}/items/1`, { signal: AbortSignal.timeout(2_000) })).rejects.toThrow();
  });
});
