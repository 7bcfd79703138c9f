import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listenFileserved } from './fileserved-server.ts';
import type { InProcessServer } from './in-process-runner.ts';

let root: string;
let server: InProcessServer;
let base: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'fileserved-test-'));
  server = await listenFileserved({ root, maxObjectBytes: 16 }, 0);
  base = `http://127.0.0.1:${server.port}`;
});
afterEach(async () => {
  await server.close();
  await rm(root, { recursive: true, force: true });
});

async function answer(path: string, init: RequestInit = {}): Promise<[number, unknown]> {
  const r = await fetch(`${base}${path}`, init);
  const text = await r.text();
  return [r.status, text === '' ? '' : (JSON.parse(text) as unknown)];
}

describe('fileserved on the HTTP layer', () => {
  it('stores, lists, serves and deletes an object under a percent-encoded key', async () => {
    expect(await answer('/logs/a%20b.txt', { method: 'PUT', body: 'hello', headers: { 'content-type': 'text/plain' } })).toEqual([200, { key: 'logs/a b.txt', size: 5 }]);
    expect(await answer('/?prefix=logs/')).toEqual([200, { objects: [{ key: 'logs/a b.txt', size: 5 }] }]);
    const got = await fetch(`${base}/logs/a%20b.txt`);
    expect([got.status, got.headers.get('content-type'), await got.text()]).toEqual([200, 'text/plain', 'hello']);
    expect((await fetch(`${base}/logs/a%20b.txt`, { method: 'HEAD' })).headers.get('content-length')).toBe('5');
    expect(await answer('/logs/a%20b.txt', { method: 'DELETE' })).toEqual([204, '']);
    expect(await answer('/logs/a%20b.txt')).toEqual([404, { code: 'NOT_FOUND', message: 'no object logs/a b.txt' }]);
  });

  it('takes an object at the size limit and refuses one past it with TOO_LARGE and a hint', async () => {
    expect((await answer('/k', { method: 'PUT', body: 'x'.repeat(16) }))[0]).toBe(200);
    expect(await answer('/k', { method: 'PUT', body: 'x'.repeat(17) })).toEqual([
      413,
      { code: 'TOO_LARGE', message: 'fileserved: object k is larger than 16 bytes', hint: 'raise withMaxObjectBytes() on the FileservedProvider' },
    ]);
  });

  it('answers bad keys with BAD_KEY (400), clashing ones with KEY_CONFLICT (409), and other methods with 405 naming the allowed ones', async () => {
    expect(await answer('/a/%E0%A4%A', { method: 'PUT', body: 'x' })).toEqual([400, { code: 'BAD_KEY', message: 'fileserved: the path /a/%E0%A4%A is not valid percent-encoding', hint: 'encode each key segment with encodeURIComponent' }]);
    expect((await answer('/a', { method: 'PUT', body: 'x' }))[0]).toBe(200);
    expect(await answer('/a/b', { method: 'PUT', body: 'x' })).toMatchObject([409, { code: 'KEY_CONFLICT', hint: expect.stringContaining('cannot be both an object and a prefix') }]);
    const post = await fetch(`${base}/k`, { method: 'POST', body: 'x' });
    expect([post.status, post.headers.get('allow'), ((await post.json()) as { code: string }).code]).toEqual([405, 'DELETE, GET, HEAD, PUT', 'METHOD_NOT_ALLOWED']);
    expect((await answer('/', { method: 'POST' }))[0]).toBe(405);
  });
});
