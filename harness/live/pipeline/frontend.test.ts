import { createHmac } from 'node:crypto';
import type pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { Frontend } from './frontend.ts';

/** Stores that must not be reached: a request refused at the door touches neither PostgreSQL nor RabbitMQ. */
const untouchedPool = { query: () => Promise.reject(new Error('postgres must not be reached')) } as unknown as pg.Pool;
const untouchedBus = () => Promise.reject(new Error('rabbitmq must not be reached'));
const SECRET = 'hook-secret';

let frontend: Frontend | undefined;
afterEach(async () => {
  await frontend?.stop();
  frontend = undefined;
});

async function start(): Promise<Frontend> {
  frontend = new Frontend({ pool: untouchedPool, connect: untouchedBus, webhookSecret: SECRET });
  await frontend.start();
  return frontend;
}

describe("frontend's HTTP wiring", () => {
  it('answers malformed JSON to the pipeline API with 400 naming where it broke, not 500', async () => {
    const f = await start();
    const res = await fetch(`${f.url}/api/v2/project/gh/GERey/realitycheck/pipeline`, { method: 'POST', body: '{"sha": "abc",}' });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      code: 'MALFORMED_JSON',
      error: 'request body is not valid JSON: line 1 column 15 (offset 14): unexpected "}", expected a string key',
      position: 14,
      line: 1,
      column: 15,
    });
    const empty = await fetch(`${f.url}/api/v2/project/gh/GERey/realitycheck/pipeline`, { method: 'POST' });
    expect([empty.status, await empty.json()]).toEqual([400, { message: 'sha is required' }]);
  });

  it('answers a signed push whose payload is not JSON with 400, not 500', async () => {
    const f = await start();
    const body = 'payload=not-json';
    const signature = `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;
    const res = await fetch(f.hookUrl, { method: 'POST', body, headers: { 'x-hub-signature-256': signature, 'x-github-event': 'push' } });
    expect([res.status, ((await res.json()) as { code: string }).code]).toEqual([400, 'MALFORMED_JSON']);
  });

  it('routes by method: a GET to the hook is a 405 naming POST, an unknown path a 404', async () => {
    const f = await start();
    const hook = await fetch(f.hookUrl);
    expect([hook.status, hook.headers.get('allow')]).toEqual([405, 'POST']);
    expect((await fetch(`${f.url}/nope`)).status).toBe(404);
    expect(await (await fetch(`${f.url}/health-check`)).json()).toEqual({ ok: true });
  });
});
