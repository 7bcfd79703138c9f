import { connect as connectTcp } from 'node:net';
import type { Redis, RedisOptions } from 'ioredis';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

/** Makes an ioredis client for the server under test (`StartedRedis.client`). */
export type RedisClientFactory = (options?: RedisOptions) => Redis;

const WRONGTYPE = 'WRONGTYPE Operation against a key holding the wrong kind of value';
const NOT_INTEGER = 'ERR value is not an integer or out of range';

/**
 * What the services and the live pipeline may rely on from Redis, asserted through ioredis (and once on the raw wire)
 * against a real redis-server and the twin's embedded one alike: values, orderings, expiry and the exact error texts.
 * The expected answers are real Redis 7's.
 *
 * `open` is called once; the caller owns the server's lifecycle. The server must be private to the test: every case
 * starts with FLUSHALL.
 */
export function describeRedisContract(label: string, open: () => Promise<RedisClientFactory>): void {
  describe(`Redis contract: ${label}`, () => {
    let connect: RedisClientFactory;
    let redis: Redis;
    const rejects = (p: Promise<unknown>, message: string) => expect(p).rejects.toMatchObject({ message });

    beforeAll(async () => {
      connect = await open();
    });
    beforeEach(async () => {
      redis = connect();
      await redis.flushall();
    });
    afterEach(() => {
      redis.disconnect();
    });

    it('strings: SET with NX, XX, GET and KEEPTTL; SETNX; MSET and MGET; APPEND and STRLEN', async () => {
      expect(await redis.set('k', 'v1')).toBe('OK');
      expect(await redis.set('k', 'v2', 'NX')).toBeNull();
      expect(await redis.set('missing', 'v', 'XX')).toBeNull();
      expect(await redis.exists('missing')).toBe(0);
      expect(await redis.call('SET', 'k', 'v3', 'XX', 'GET')).toBe('v1');
      // NX refused, and GET still answers the old value.
      expect(await redis.call('SET', 'k', 'v4', 'NX', 'GET')).toBe('v3');
      expect(await redis.get('k')).toBe('v3');
      expect(await redis.get('missing')).toBeNull();

      await redis.set('t', 'a', 'EX', 100);
      await redis.call('SET', 't', 'b', 'KEEPTTL');
      expect(await redis.ttl('t')).toBeGreaterThan(95);
      await redis.set('t', 'c');
      expect(await redis.ttl('t')).toBe(-1);

      expect(await redis.setnx('k', 'x')).toBe(0);
      expect(await redis.setnx('fresh', 'x')).toBe(1);
      expect(await redis.mset('a', '1', 'b', '2')).toBe('OK');
      expect(await redis.mget('a', 'missing', 'b')).toEqual(['1', null, '2']);
      expect(await redis.append('a', '23')).toBe(3);
      expect(await redis.append('new', 'xy')).toBe(2);
      expect(await redis.strlen('a')).toBe(3);
      expect(await redis.strlen('missing')).toBe(0);
    });

    it('keys and values are binary-safe', async () => {
      const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      await redis.set(bytes, bytes);
      expect(await redis.getBuffer(bytes)).toEqual(bytes);
      expect(await redis.keysBuffer('*')).toEqual([bytes]);
      await redis.rpush('list', bytes, Buffer.from('\r\n'));
      expect(await redis.lrangeBuffer('list', 0, -1)).toEqual([bytes, Buffer.from('\r\n')]);
      await redis.hset('hash', bytes, bytes);
      expect(await redis.hgetBuffer('hash', bytes)).toEqual(bytes);
    });

    it('counters: INCR, INCRBY, DECR and DECRBY keep the expiry and refuse non-integers and overflow', async () => {
      expect(await redis.incr('c')).toBe(1);
      expect(await redis.incrby('c', 10)).toBe(11);
      expect(await redis.decr('c')).toBe(10);
      expect(await redis.decrby('c', 20)).toBe(-10);
      expect(await redis.get('c')).toBe('-10');

      await redis.set('timed', '1', 'EX', 100);
      await redis.incr('timed');
      expect(await redis.ttl('timed')).toBeGreaterThan(95);

      for (const notInteger of ['abc', ' 1', '01', '1.0', '']) {
        await redis.set('s', notInteger);
        await rejects(redis.incr('s'), NOT_INTEGER);
      }
      await rejects(redis.call('INCRBY', 'c', 'x'), NOT_INTEGER);
      await redis.set('max', '9223372036854775807');
      await rejects(redis.incr('max'), 'ERR increment or decrement would overflow');
      await rejects(redis.call('DECRBY', 'c', '-9223372036854775808'), 'ERR decrement would overflow');
    });

    it('expiry: EX and PX, TTL and PTTL, EXPIRE with NX/XX/GT/LT, PERSIST, and keys gone once expired', async () => {
      expect(await redis.ttl('missing')).toBe(-2);
      await redis.set('k', 'v');
      expect(await redis.ttl('k')).toBe(-1);
      expect(await redis.expire('k', 100)).toBe(1);
      expect(await redis.ttl('k')).toBe(100);
      expect(await redis.pttl('k')).toBeGreaterThan(99_000);
      expect(await redis.call('EXPIRE', 'k', '50', 'GT')).toBe(0);
      expect(await redis.call('EXPIRE', 'k', '200', 'GT')).toBe(1);
      expect(await redis.call('EXPIRE', 'k', '50', 'LT')).toBe(1);
      expect(await redis.call('EXPIRE', 'k', '10', 'NX')).toBe(0);
      expect(await redis.ttl('k')).toBe(50);
      expect(await redis.persist('k')).toBe(1);
      expect(await redis.persist('k')).toBe(0);
      expect(await redis.call('EXPIRE', 'k', '10', 'XX')).toBe(0);
      expect(await redis.call('EXPIRE', 'k', '10', 'GT')).toBe(0);
      expect(await redis.call('EXPIRE', 'k', '10', 'LT')).toBe(1);
      expect(await redis.expire('missing', 10)).toBe(0);
      await rejects(redis.call('EXPIRE', 'k', '10', 'NX', 'XX'), 'ERR NX and XX, GT or LT options at the same time are not compatible');
      await rejects(redis.call('EXPIRE', 'k', '10', 'GT', 'LT'), 'ERR GT and LT options at the same time are not compatible');
      await rejects(redis.call('EXPIRE', 'k', '10', 'SOON'), 'ERR Unsupported option SOON');
      await rejects(redis.call('SET', 'k', 'v', 'EX', '0'), "ERR invalid expire time in 'set' command");
      await rejects(redis.call('EXPIRE', 'k', '9223372036854775807'), "ERR invalid expire time in 'expire' command");

      await redis.set('gone', 'v', 'PX', 50);
      await redis.set('gone-too', 'v');
      await redis.pexpire('gone-too', 50);
      await sleep(150);
      expect(await redis.get('gone')).toBeNull();
      expect(await redis.exists('gone-too')).toBe(0);
      expect(await redis.ttl('gone')).toBe(-2);
      expect(await redis.expire('k', -1)).toBe(1);
      expect(await redis.exists('k')).toBe(0);
    });

    it('keys: DEL and UNLINK count what they removed, EXISTS counts repeats, TYPE names the kind, RENAME keeps the expiry', async () => {
      await redis.mset('a', '1', 'b', '2', 'c', '3');
      expect(await redis.del('a', 'b', 'missing')).toBe(2);
      expect(await redis.unlink('c', 'c')).toBe(1);
      await redis.set('x', '1');
      expect(await redis.exists('x', 'x', 'missing')).toBe(2);

      await redis.rpush('l', 'a');
      await redis.sadd('s', 'a');
      await redis.hset('h', 'f', 'v');
      expect(await Promise.all(['x', 'l', 's', 'h', 'missing'].map((k) => redis.type(k)))).toEqual(['string', 'list', 'set', 'hash', 'none']);

      await redis.set('r', 'v', 'EX', 100);
      expect(await redis.rename('r', 'r2')).toBe('OK');
      expect(await redis.get('r')).toBeNull();
      expect(await redis.ttl('r2')).toBeGreaterThan(95);
      expect(await redis.rename('r2', 'l')).toBe('OK');
      expect(await redis.type('l')).toBe('string');
      await rejects(redis.rename('missing', 'y'), 'ERR no such key');
    });

    it('KEYS matches globs; a full SCAN with MATCH, COUNT and TYPE returns every key it should', async () => {
      for (let i = 0; i < 25; i++) await redis.set(`job:${i}`, 'x');
      await redis.mset('h1', 'x', 'h2', 'x', 'ha', 'x', 'other', 'x');
      await redis.rpush('job:list', 'x');
      expect((await redis.keys('job:1?')).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `job:1${i}`));
      expect((await redis.keys('h[0-9]')).sort()).toEqual(['h1', 'h2']);
      expect((await redis.keys('h[^0-9]')).sort()).toEqual(['ha']);
      expect((await redis.keys('*')).length).toBe(30);
      expect(await redis.dbsize()).toBe(30);

      const seen = new Set<string>();
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', 'job:*', 'COUNT', 5);
        for (const k of keys) seen.add(k);
        cursor = next;
      } while (cursor !== '0');
      expect(seen.size).toBe(26);
      const lists: string[] = [];
      cursor = '0';
      do {
        const [next, keys] = (await redis.call('SCAN', cursor, 'TYPE', 'list', 'COUNT', '100')) as [string, string[]];
        lists.push(...keys);
        cursor = next;
      } while (cursor !== '0');
      expect(lists).toEqual(['job:list']);
      await rejects(redis.call('SCAN', 'x'), 'ERR invalid cursor');
      await rejects(redis.call('SCAN', '0', 'COUNT', '0'), 'ERR syntax error');
    });

    it('lists: push order, LRANGE with negative indexes, LPOP/RPOP with counts, LINDEX, LREM, LTRIM, LLEN; an emptied list is gone', async () => {
      expect(await redis.rpush('l', 'a', 'b', 'c')).toBe(3);
      expect(await redis.lpush('l', 'z', 'y')).toBe(5);
      expect(await redis.lrange('l', 0, -1)).toEqual(['y', 'z', 'a', 'b', 'c']);
      expect(await redis.lrange('l', -2, -1)).toEqual(['b', 'c']);
      expect(await redis.lrange('l', 3, 1)).toEqual([]);
      expect(await redis.lrange('l', -100, 100)).toEqual(['y', 'z', 'a', 'b', 'c']);
      expect(await redis.lrange('missing', 0, -1)).toEqual([]);
      expect([await redis.lindex('l', 0), await redis.lindex('l', -1), await redis.lindex('l', 99)]).toEqual(['y', 'c', null]);
      expect(await redis.llen('l')).toBe(5);

      expect(await redis.lpop('l')).toBe('y');
      expect(await redis.rpop('l', 2)).toEqual(['c', 'b']);
      expect(await redis.lpop('l', 0)).toEqual([]);
      expect(await redis.lpop('missing')).toBeNull();
      expect(await redis.lpop('missing', 2)).toBeNull();
      await rejects(redis.call('LPOP', 'l', '-1'), 'ERR value is out of range, must be positive');
      expect(await redis.lpop('l', 10)).toEqual(['z', 'a']);
      expect(await redis.exists('l')).toBe(0);

      await redis.rpush('r', 'a', 'b', 'a', 'c', 'a');
      expect(await redis.lrem('r', -2, 'a')).toBe(2);
      expect(await redis.lrange('r', 0, -1)).toEqual(['a', 'b', 'c']);
      expect(await redis.lrem('r', 0, 'zz')).toBe(0);
      expect(await redis.lrem('r', 1, 'a')).toBe(1);
      expect(await redis.ltrim('r', 1, -1)).toBe('OK');
      expect(await redis.lrange('r', 0, -1)).toEqual(['c']);
      expect(await redis.ltrim('r', 5, 10)).toBe('OK');
      expect(await redis.exists('r')).toBe(0);
    });

    it('sets: SADD counts what is new, SREM what it removed; SCARD, SMEMBERS, SISMEMBER; an emptied set is gone', async () => {
      expect(await redis.sadd('s', 'a', 'b', 'a')).toBe(2);
      expect(await redis.sadd('s', 'b', 'c')).toBe(1);
      expect(await redis.scard('s')).toBe(3);
      expect((await redis.smembers('s')).sort()).toEqual(['a', 'b', 'c']);
      expect([await redis.sismember('s', 'a'), await redis.sismember('s', 'z')]).toEqual([1, 0]);
      expect(await redis.srem('s', 'a', 'z')).toBe(1);
      expect(await redis.srem('s', 'b', 'c')).toBe(2);
      expect(await redis.exists('s')).toBe(0);
      expect([await redis.scard('missing'), await redis.smembers('missing')]).toEqual([0, []]);
    });

    it('hashes: HSET counts new fields; HGET, HMGET, HGETALL, HLEN, HEXISTS, HINCRBY, HDEL; an emptied hash is gone', async () => {
      expect(await redis.hset('h', 'a', '1', 'b', '2')).toBe(2);
      expect(await redis.hset('h', 'a', '10', 'c', '3')).toBe(1);
      expect([await redis.hget('h', 'a'), await redis.hget('h', 'zz')]).toEqual(['10', null]);
      expect(await redis.hmget('h', 'a', 'zz', 'c')).toEqual(['10', null, '3']);
      expect(await redis.hgetall('h')).toEqual({ a: '10', b: '2', c: '3' });
      expect(await redis.hgetall('missing')).toEqual({});
      expect(await redis.hlen('h')).toBe(3);
      expect([await redis.hexists('h', 'a'), await redis.hexists('h', 'zz')]).toEqual([1, 0]);
      expect(await redis.hincrby('h', 'a', 5)).toBe(15);
      expect(await redis.hincrby('h', 'n', -2)).toBe(-2);
      await redis.hset('h', 's', 'abc');
      await rejects(redis.hincrby('h', 's', 1), 'ERR hash value is not an integer');
      await rejects(redis.call('HSET', 'h', 'a'), "ERR wrong number of arguments for 'hset' command");
      expect(await redis.hdel('h', 'a', 'zz')).toBe(1);
      expect(await redis.hdel('h', 'b', 'c', 'n', 's')).toBe(4);
      expect(await redis.exists('h')).toBe(0);
    });

    it('errors read exactly as Redis words them: WRONGTYPE, unknown command, wrong arity, syntax', async () => {
      await redis.rpush('l', 'a');
      await rejects(redis.get('l'), WRONGTYPE);
      await rejects(redis.sadd('l', 'x'), WRONGTYPE);
      await rejects(redis.hget('l', 'f'), WRONGTYPE);
      await rejects(redis.incr('l'), WRONGTYPE);
      await redis.set('s', 'v');
      await rejects(redis.lpush('s', 'x'), WRONGTYPE);
      await rejects(redis.call('SET', 'l', 'v', 'GET'), WRONGTYPE);
      expect(await redis.mget('l', 's')).toEqual([null, 'v']);

      await rejects(redis.call('NOSUCH', 'a', 'b'), "ERR unknown command 'NOSUCH', with args beginning with: 'a' 'b' ");
      await rejects(redis.call('GET'), "ERR wrong number of arguments for 'get' command");
      await rejects(redis.call('MSET', 'a', '1', 'b'), "ERR wrong number of arguments for 'mset' command");
      await rejects(redis.call('SET', 'k', 'v', 'NX', 'XX'), 'ERR syntax error');
      await rejects(redis.call('SET', 'k', 'v', 'EX', '10', 'KEEPTTL'), 'ERR syntax error');
      await rejects(redis.call('SET', 'k', 'v', 'EX', 'ten'), NOT_INTEGER);
      await rejects(redis.call('SELECT', '16'), 'ERR DB index is out of range');
      await rejects(redis.call('CLIENT', 'NOSUCH'), "ERR unknown subcommand 'NOSUCH'. Try CLIENT HELP.");
    });

    it('MULTI/EXEC answers every queued command in order, errors included; a refused command aborts EXEC; DISCARD drops the queue', async () => {
      const results = await redis.multi().set('m', '1').incr('m').lpush('m', 'x').get('m').exec();
      expect(results?.map(([err, value]) => err?.message ?? value)).toEqual(['OK', 2, WRONGTYPE, '2']);

      await rejects(redis.multi().set('a', '1').call('NOSUCH').exec(), 'EXECABORT Transaction discarded because of previous errors.');
      expect(await redis.get('a')).toBeNull();

      expect(await redis.call('MULTI')).toBe('OK');
      await rejects(redis.call('MULTI'), 'ERR MULTI calls can not be nested');
      expect(await redis.call('SET', 'd', '1')).toBe('QUEUED');
      expect(await redis.call('DISCARD')).toBe('OK');
      expect(await redis.get('d')).toBeNull();
      await rejects(redis.call('EXEC'), 'ERR EXEC without MULTI');
      await rejects(redis.call('DISCARD'), 'ERR DISCARD without MULTI');
    });

    it('connection: PING, ECHO, SELECT keeps databases apart, FLUSHDB empties only its own, DBSIZE, CLIENT, TIME, INFO, AUTH', async () => {
      expect([await redis.ping(), await redis.ping('hi'), await redis.echo('x')]).toEqual(['PONG', 'hi', 'x']);
      await redis.set('k', 'db0');
      const db3 = connect({ db: 3 });
      try {
        await db3.set('k', 'db3');
        await db3.set('only-in-3', 'x');
        expect([await redis.get('k'), await db3.get('k')]).toEqual(['db0', 'db3']);
        expect([await redis.dbsize(), await db3.dbsize()]).toEqual([1, 2]);
        expect(await db3.flushdb()).toBe('OK');
        expect([await redis.get('k'), await db3.get('k')]).toEqual(['db0', null]);
      } finally {
        db3.disconnect();
      }

      expect(await redis.client('SETNAME', 'twin-worker')).toBe('OK');
      expect(await redis.client('GETNAME')).toBe('twin-worker');
      expect(typeof (await redis.client('ID'))).toBe('number');
      await rejects(redis.client('SETNAME', 'has space'), 'ERR Client names cannot contain spaces, newlines or special characters.');

      const [seconds, micros] = await redis.time();
      expect(Math.abs(Number(seconds) - Date.now() / 1000)).toBeLessThan(5);
      expect(Number(micros)).toBeLessThan(1_000_000);

      const info = await redis.info();
      expect(info).toMatch(/^# Server\r\n/);
      expect(info).toMatch(/\r\nredis_version:7\.\d+\.\d+\r\n/);
      expect(info).toMatch(/\r\nloading:0\r\n/);
      expect(info).toMatch(/\r\n# Keyspace\r\ndb0:keys=1,expires=0,avg_ttl=0\r\n/);
      expect(await redis.info('keyspace')).toBe('# Keyspace\r\ndb0:keys=1,expires=0,avg_ttl=0\r\n');

      await rejects(redis.call('AUTH', 'secret'), 'ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?');
      await rejects(redis.call('AUTH', 'someone', 'secret'), 'WRONGPASS invalid username-password pair or user is disabled.');
      expect(await redis.call('AUTH', 'default', 'anything')).toBe('OK');
      expect(await redis.call('COMMAND', 'COUNT')).toBeGreaterThan(50);
    });

    it('a pipeline of 2,000 commands is answered in order', async () => {
      const p = redis.pipeline();
      for (let i = 0; i < 1_000; i++) p.set(`p:${i}`, String(i)).get(`p:${i}`);
      const results = await p.exec();
      expect(results).toHaveLength(2_000);
      expect(results!.every(([err, value], i) => err === null && value === (i % 2 === 0 ? 'OK' : String((i - 1) / 2)))).toBe(true);
    });

    it("the live pipeline's fail-fast client (no offline queue, no retries, 500 ms timeout) runs its commands, then QUIT closes", async () => {
      const client = connect({ enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 500 });
      await new Promise((resolve) => client.once('ready', resolve));
      expect(await client.set('lock', 'worker-1', 'NX')).toBe('OK');
      expect(await client.set('lock', 'worker-2', 'NX')).toBeNull();
      expect(await client.rpush('output', 'line 1', 'line 2', 'line 3')).toBe(3);
      expect(await client.lrange('output', 0, -1)).toEqual(['line 1', 'line 2', 'line 3']);
      expect(await client.sadd('seen', 'a', 'b')).toBe(2);
      expect(await client.scard('seen')).toBe(2);
      expect(await client.del('lock', 'output', 'seen')).toBe(3);
      expect(await client.ping()).toBe('PONG');
      const ended = new Promise((resolve) => client.once('end', resolve));
      expect(await client.quit()).toBe('OK');
      await ended;
    });

    it('speaks RESP2 on the wire: frames split anywhere, pipelined frames, inline commands; a protocol error closes', async () => {
      const { host, port } = redis.options as { host: string; port: number };
      const frames = '*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\nv\r\nw\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n';
      // One byte at a time, then pipelined, then inline with quotes (and a blank line, which is ignored).
      const chunks = [...frames.split(''), frames, 'PING\r\n', '\r\n', `set "a b" 'c d'\r\n`, 'get "a b"\n', '*1\r\n+PING\r\n'];
      const got = await rawExchange(host, port, chunks);
      const echo = '+OK\r\n$4\r\nv\r\nw\r\n';
      expect(got).toBe(`${echo}${echo}+PONG\r\n+OK\r\n$3\r\nc d\r\n-ERR Protocol error: expected '$', got '+'\r\n`);
    });
  });
}

/** Writes each chunk in its own packet and collects everything the server sends until it closes the connection. */
function rawExchange(host: string, port: number, chunks: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp({ host, port, noDelay: true });
    let received = '';
    socket.on('data', (d) => (received += d.toString('latin1')));
    socket.once('error', reject);
    socket.once('close', () => resolve(received));
    socket.once('connect', async () => {
      for (const c of chunks) {
        socket.write(c);
        await sleep(1);
      }
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
