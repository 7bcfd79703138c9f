import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES } from './http-api.ts';
import { NomadApiServer, type StartedNomadApiServer } from './server.ts';

/** The twin's Nomad API on the shared HTTP layer: the layer's own errors in Nomad 0.9.3's words. */
describe('the Nomad API on harness/http', () => {
  let server: StartedNomadApiServer;
  beforeAll(async () => {
    server = await new NomadApiServer().withSeed(7).start();
  });
  afterAll(() => server.stop());

  const call = async (method: string, path: string, body?: string) => {
    const r = await fetch(`${server.url}${path}`, { method, body });
    return { status: r.status, text: await r.text(), type: r.headers.get('content-type') };
  };

  it('answers an unknown path with a bare 404, and a path outside a family route too', async () => {
    expect(await call('GET', '/v1/nope')).toEqual({ status: 404, text: '', type: 'text/plain; charset=utf-8' });
    expect((await call('GET', '/v1/client/allocation/abc')).text).toBe('');
  });

  it('refuses HEAD and a method a route does not take with 405 Invalid method, without a newline', async () => {
    expect((await call('HEAD', '/v1/jobs')).status).toBe(405);
    expect(await call('PATCH', '/v1/jobs')).toEqual({ status: 405, text: 'Invalid method', type: 'text/plain; charset=utf-8' });
    expect((await call('DELETE', '/v1/job/x/allocations')).text).toBe('Invalid method');
  });

  it('takes ids with an encoded or a raw slash, suffix routes first, and refuses bad percent-encoding with 400', async () => {
    expect(await call('GET', '/v1/job/a%2Fb/allocations')).toMatchObject({ status: 200, text: '[]' });
    expect(await call('GET', '/v1/job/a/b/summary')).toEqual({ status: 404, text: 'job not found', type: 'text/plain; charset=utf-8' });
    expect(await call('GET', '/v1/job/%ZZ')).toMatchObject({ status: 400, text: 'Invalid URL path encoding: /v1/job/%ZZ' });
  });

  it("keeps Nomad's body errors: empty, malformed, too large", async () => {
    expect(await call('PUT', '/v1/jobs', '')).toMatchObject({ status: 400, text: 'Request body is empty' });
    expect((await call('PUT', '/v1/jobs', '{"Job": ')).text).toMatch(/^Request body is not valid JSON: /);
    expect(await call('PUT', '/v1/jobs', 'x'.repeat(MAX_BODY_BYTES + 1))).toMatchObject({ status: 413, text: `Request body is larger than ${MAX_BODY_BYTES} bytes` });
  });

  it('answers a blocking query a client gave up on with nothing, and forgets it', async () => {
    const index = (await fetch(`${server.url}/v1/jobs`)).headers.get('x-nomad-index');
    const abort = new AbortController();
    const pending = fetch(`${server.url}/v1/jobs?index=${index}&wait=10s`, { signal: abort.signal }).catch(() => 'aborted');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(server.waitingQueries).toBe(1);
    abort.abort();
    expect(await pending).toBe('aborted');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(server.waitingQueries).toBe(0);
    expect((await call('GET', '/v1/agent/health')).status).toBe(200);
  });
});
