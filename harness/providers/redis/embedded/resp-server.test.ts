import { describe, expect, it } from 'vitest';
import type { Session } from './commands-common.ts';
import { encodeReply } from './resp-protocol.ts';
import { RedisEngine, RespConnection } from './resp-server.ts';

/** An engine on a clock the test moves, and a way to run commands on one session and read the raw RESP answer. */
function harness(start = 1_700_000_000_000) {
  let now = start;
  const engine = new RedisEngine({ now: () => now, port: 6390 });
  const session = engine.openSession();
  const run = (...argv: (string | Buffer)[]): string => resp(engine, session, argv);
  return { engine, session, run, advance: (ms: number) => (now += ms) };
}

function resp(engine: RedisEngine, session: Session, argv: (string | Buffer)[]): string {
  const out: Buffer[] = [];
  encodeReply(engine.execute(session, argv.map((a) => (typeof a === 'string' ? Buffer.from(a) : a))), out);
  return Buffer.concat(out).toString('latin1');
}

/** The multibulk frame a client sends for these arguments. */
const frame = (...args: string[]) => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a, 'latin1')}\r\n${a}\r\n`).join('')}`;

describe('RespConnection', () => {
  it('answers every complete request in what arrived, in order, and nothing for a half-arrived one', () => {
    const conn = new RespConnection(new RedisEngine());
    const first = conn.receive(Buffer.from(`PING\r\n${frame('SET', 'k', 'v')}${frame('GET', 'k').slice(0, 10)}`));
    expect(first).toEqual({ output: Buffer.from('+PONG\r\n+OK\r\n'), close: false });
    expect(conn.receive(Buffer.from(frame('GET', 'k').slice(10)))).toEqual({ output: Buffer.from('$1\r\nv\r\n'), close: false });
  });

  it('closes after QUIT, ignoring what was pipelined behind it', () => {
    const conn = new RespConnection(new RedisEngine());
    expect(conn.receive(Buffer.from(frame('QUIT') + frame('SET', 'k', 'v')))).toEqual({ output: Buffer.from('+OK\r\n'), close: true });
  });

  it('answers a protocol error and closes, after the replies to what came before it', () => {
    const conn = new RespConnection(new RedisEngine());
    expect(conn.receive(Buffer.from('PING\r\n*1\r\n:1\r\nPING\r\n'))).toEqual({ output: Buffer.from("+PONG\r\n-ERR Protocol error: expected '$', got ':'\r\n"), close: true });
  });

  it('counts its session in INFO until closed', () => {
    const engine = new RedisEngine();
    const conn = new RespConnection(engine);
    const clients = () => engine.infoSections(Date.now()).find((s) => s.name === 'Clients')!.lines;
    expect(clients()).toEqual(['connected_clients:1']);
    conn.close();
    expect(clients()).toEqual(['connected_clients:0']);
  });
});

describe('RedisEngine', () => {
  it('words unknown commands and wrong arity as Redis does, cutting the echoed arguments at 128 characters', () => {
    const { run } = harness();
    expect(run('nosuch', 'a', 'b')).toBe("-ERR unknown command 'nosuch', with args beginning with: 'a' 'b' \r\n");
    expect(run('NOSUCH')).toBe("-ERR unknown command 'NOSUCH', with args beginning with: \r\n");
    expect(run('x', 'a'.repeat(100), 'b'.repeat(100), 'c')).toBe(`-ERR unknown command 'x', with args beginning with: '${'a'.repeat(100)}' '${'b'.repeat(25)}' \r\n`);
    expect(run('x', 'line\r\nbreak')).toBe("-ERR unknown command 'x', with args beginning with: 'line  break' \r\n");
    expect(run('GET')).toBe("-ERR wrong number of arguments for 'get' command\r\n");
    expect(run('Get', 'a', 'b')).toBe("-ERR wrong number of arguments for 'get' command\r\n");
    expect(run('CLIENT', 'SETNAME')).toBe("-ERR wrong number of arguments for 'client|setname' command\r\n");
  });

  it('answers HELLO as a RESP2-only server: protocol 3 is NOPROTO (clients fall back), HELLO 2 describes the server', () => {
    const { run, session } = harness();
    expect(run('HELLO', '3')).toBe('-NOPROTO unsupported protocol version\r\n');
    expect(run('HELLO', 'x')).toBe('-ERR Protocol version is not an integer or out of range\r\n');
    expect(run('HELLO', '2', 'AUTH', 'x')).toBe("-ERR Syntax error in HELLO option 'AUTH'\r\n");
    expect(run('HELLO', '2', 'AUTH', 'bob', 'pw')).toBe('-WRONGPASS invalid username-password pair or user is disabled.\r\n');
    const hello = run('HELLO', '2', 'AUTH', 'default', 'pw', 'SETNAME', 'svc');
    expect(hello).toBe(`*14\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n7.0.0\r\n$5\r\nproto\r\n:2\r\n$2\r\nid\r\n:${session.id}\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n`);
    expect(run('CLIENT', 'GETNAME')).toBe('$3\r\nsvc\r\n');
    expect(run('CLIENT', 'SETINFO', 'LIB-NAME', 'ioredis')).toBe('+OK\r\n');
    expect(run('CLIENT', 'SETINFO', 'lib-colour', 'x')).toBe("-ERR Unrecognized option 'lib-colour'\r\n");
  });

  it('expires keys lazily on access and in the sweep, on its clock', () => {
    const { run, advance, engine } = harness();
    run('SET', 'short', 'v', 'PX', '100');
    run('SET', 'unread', 'v', 'EX', '1');
    run('SET', 'kept', 'v');
    expect(run('PTTL', 'short')).toBe(':100\r\n');
    advance(99);
    expect(run('GET', 'short')).toBe('$1\r\nv\r\n');
    advance(1);
    expect(run('GET', 'short')).toBe('$-1\r\n');
    expect(run('DBSIZE')).toBe(':2\r\n');
    advance(1_000);
    // DBSIZE counts an expired key nobody has read, until the sweep removes it.
    expect(run('DBSIZE')).toBe(':2\r\n');
    engine.sweepExpired();
    expect(run('DBSIZE')).toBe(':1\r\n');
    expect(run('INFO', 'keyspace')).toBe('$44\r\n# Keyspace\r\ndb0:keys=1,expires=0,avg_ttl=0\r\n\r\n');
  });

  it('rounds TTL to the nearest second and honours EXAT/PXAT in the past by dropping the key', () => {
    const { run, advance } = harness(1_000_000);
    run('SET', 'k', 'v', 'PX', '1499');
    expect(run('TTL', 'k')).toBe(':1\r\n');
    run('SET', 'k', 'v', 'PX', '1500');
    expect(run('TTL', 'k')).toBe(':2\r\n');
    advance(1);
    expect(run('SET', 'old', 'v', 'PXAT', '1000000')).toBe('+OK\r\n');
    expect(run('EXISTS', 'old')).toBe(':0\r\n');
    expect(run('SET', 'k', 'v', 'EX', '10', 'EX', '20')).toBe('+OK\r\n');
    expect(run('TTL', 'k')).toBe(':20\r\n');
    expect(run('SET', 'k', 'v', 'EX', '10', 'PX', '20')).toBe('-ERR syntax error\r\n');
    expect(run('SET', 'k', 'v', 'EX', '9223372036854776')).toBe("-ERR invalid expire time in 'set' command\r\n");
  });

  it('SCAN returns every key that exists throughout, even while others are added and removed', () => {
    const { run } = harness();
    for (let i = 0; i < 40; i++) run('SET', `k${i}`, 'v');
    const seen = new Set<string>();
    let cursor = '0';
    let round = 0;
    do {
      const [next, ...keys] = scanPage(run('SCAN', cursor, 'COUNT', '7'));
      keys.forEach((k) => seen.add(k));
      // Churn between pages: remove one key that was already returned, add one, re-create one.
      run('DEL', `k${round}`);
      run('SET', `new${round}`, 'v');
      run('SET', `k${round}`, 'again');
      cursor = next!;
      round++;
    } while (cursor !== '0');
    for (let i = 0; i < 40; i++) expect(seen.has(`k${i}`)).toBe(true);
    // Without churn, a full iteration returns each key exactly once.
    const once: string[] = [];
    cursor = '0';
    do {
      const [next, ...keys] = scanPage(run('SCAN', cursor, 'MATCH', 'k*', 'COUNT', '3'));
      once.push(...keys);
      cursor = next!;
    } while (cursor !== '0');
    expect(once.sort()).toEqual(Array.from({ length: 40 }, (_, i) => `k${i}`).sort());
    expect(run('SCAN', '18446744073709551615')).toBe('*2\r\n$1\r\n0\r\n*0\r\n');
    expect(run('SCAN', '18446744073709551616')).toBe('-ERR invalid cursor\r\n');
  });

  it('queues commands in MULTI and runs them on EXEC; refused ones abort, and EXEC with arguments ends the transaction', () => {
    const { run } = harness();
    expect(run('MULTI')).toBe('+OK\r\n');
    expect(run('SELECT', '2')).toBe('+QUEUED\r\n');
    expect(run('SET', 'k', 'v')).toBe('+QUEUED\r\n');
    expect(run('INCR', 'k')).toBe('+QUEUED\r\n');
    expect(run('EXEC')).toBe('*3\r\n+OK\r\n+OK\r\n-ERR value is not an integer or out of range\r\n');
    expect(run('GET', 'k')).toBe('$1\r\nv\r\n');

    run('MULTI');
    expect(run('MULTI')).toBe('-ERR MULTI calls can not be nested\r\n');
    expect(run('GET')).toBe("-ERR wrong number of arguments for 'get' command\r\n");
    expect(run('EXEC')).toBe('-EXECABORT Transaction discarded because of previous errors.\r\n');

    run('MULTI');
    expect(run('EXEC', 'now')).toBe("-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command\r\n");
    expect(run('EXEC')).toBe('-ERR EXEC without MULTI\r\n');
  });

  it('keeps 64-bit integer semantics: canonical numbers only, and overflow is an error, not a wrap', () => {
    const { run } = harness();
    run('SET', 'n', '9223372036854775806');
    expect(run('INCR', 'n')).toBe(':9223372036854775807\r\n');
    expect(run('INCR', 'n')).toBe('-ERR increment or decrement would overflow\r\n');
    expect(run('DECRBY', 'n', '-9223372036854775808')).toBe('-ERR decrement would overflow\r\n');
    expect(run('INCRBY', 'n', '9223372036854775808')).toBe('-ERR value is not an integer or out of range\r\n');
    for (const bad of ['-0', '+1', '1 ', '00']) expect(run('INCRBY', 'x', bad)).toBe('-ERR value is not an integer or out of range\r\n');
    run('HSET', 'h', 'f', '-9223372036854775808');
    expect(run('HINCRBY', 'h', 'f', '-1')).toBe('-ERR increment or decrement would overflow\r\n');
  });

  it('removes list elements by LREM from the head, from the tail, or all of them', () => {
    const { run } = harness();
    const list = () => run('LRANGE', 'l', '0', '-1');
    run('RPUSH', 'l', 'a', 'x', 'a', 'y', 'a');
    expect(run('LREM', 'l', '-2', 'a')).toBe(':2\r\n');
    expect(list()).toBe('*3\r\n$1\r\na\r\n$1\r\nx\r\n$1\r\ny\r\n');
    run('RPUSH', 'l', 'a', 'a');
    expect(run('LREM', 'l', '1', 'a')).toBe(':1\r\n');
    expect(list()).toBe('*4\r\n$1\r\nx\r\n$1\r\ny\r\n$1\r\na\r\n$1\r\na\r\n');
    expect(run('LREM', 'l', '0', 'a')).toBe(':2\r\n');
    expect(run('LREM', 'l', '0', 'x')).toBe(':1\r\n');
    expect(run('LREM', 'l', '0', 'y')).toBe(':1\r\n');
    expect(run('EXISTS', 'l')).toBe(':0\r\n');
  });

  it('holds binary keys, members and fields byte for byte', () => {
    const { run } = harness();
    const bytes = Buffer.from([0, 255, 13, 10, 128, 42]);
    run('SADD', bytes, bytes);
    expect(run('SMEMBERS', bytes)).toBe(`*1\r\n$6\r\n${bytes.toString('latin1')}\r\n`);
    expect(run('KEYS', '*')).toBe(`*1\r\n$6\r\n${bytes.toString('latin1')}\r\n`);
    expect(run('TYPE', bytes)).toBe('+set\r\n');
  });

  it('keeps the 16 databases apart and flushes one or all', () => {
    const { engine, run } = harness();
    const other = engine.openSession();
    run('SET', 'k', '0');
    resp(engine, other, ['SELECT', '15']);
    resp(engine, other, ['SET', 'k', '15']);
    expect(run('SELECT', '16')).toBe('-ERR DB index is out of range\r\n');
    expect(run('GET', 'k')).toBe('$1\r\n0\r\n');
    expect(resp(engine, other, ['FLUSHDB'])).toBe('+OK\r\n');
    expect(run('GET', 'k')).toBe('$1\r\n0\r\n');
    resp(engine, other, ['SET', 'k', '15']);
    expect(run('FLUSHALL', 'ASYNC')).toBe('+OK\r\n');
    expect(resp(engine, other, ['DBSIZE'])).toBe(':0\r\n');
    expect(run('FLUSHALL', 'LATER')).toBe('-ERR syntax error\r\n');
  });
});

/** A SCAN reply's cursor followed by its keys. */
function scanPage(reply: string): string[] {
  return reply.split('\r\n').filter((line, i, lines) => i > 0 && lines[i - 1]!.startsWith('$'));
}
