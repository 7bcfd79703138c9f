/** The embedded Redis's commands on keys of any type: existence, expiry, SCAN, KEYS, RENAME. */
import { upper, type Call, type CommandTable } from './commands-common.ts';
import { buf, globMatch, str } from './keyspace.ts';
import { array, bulk, bulks, CommandError, indexArg, inInt64, INT64_MAX, INT64_MIN, intArg, integer, OK, status, SYNTAX, type Reply } from './resp-protocol.ts';

/**
 * An absolute expiry in epoch ms from an EX/PX/EXAT/PXAT or EXPIRE/PEXPIRE argument. Redis refuses values whose
 * millisecond deadline would leave the 64-bit range, and (`positive`) zero or negative times in SET.
 */
export function deadline(raw: Buffer, unit: 's' | 'ms', relative: boolean, now: number, command: string, positive: boolean): number {
  const n = intArg(raw);
  const invalid = () => new CommandError(`ERR invalid expire time in '${command}' command`);
  if (positive && n <= 0n) throw invalid();
  if (unit === 's' && (n > INT64_MAX / 1000n || n < INT64_MIN / 1000n)) throw invalid();
  const at = (unit === 's' ? n * 1000n : n) + (relative ? BigInt(now) : 0n);
  if (!inInt64(at)) throw invalid();
  return Number(at);
}

function expire(c: Call, unit: 's' | 'ms', command: string): Reply {
  const [rawKey, rawTime, ...opts] = c.args;
  const flags = new Set<string>();
  for (const o of opts) {
    const f = upper(o);
    if (!['NX', 'XX', 'GT', 'LT'].includes(f)) throw new CommandError(`ERR Unsupported option ${str(o)}`);
    flags.add(f);
  }
  if (flags.has('NX') && flags.size > 1) throw new CommandError('ERR NX and XX, GT or LT options at the same time are not compatible');
  if (flags.has('GT') && flags.has('LT')) throw new CommandError('ERR GT and LT options at the same time are not compatible');
  const at = deadline(rawTime!, unit, true, c.now, command, false);
  const key = str(rawKey!);
  const e = c.db.lookup(key, c.now);
  if (e === undefined) return integer(0);
  // A key without an expiry counts as expiring never: GT can never beat it, LT always does.
  const current = e.expiresAt ?? Infinity;
  const refused =
    (flags.has('NX') && e.expiresAt !== undefined) || (flags.has('XX') && e.expiresAt === undefined) || (flags.has('GT') && at <= current) || (flags.has('LT') && at >= current);
  if (refused) return integer(0);
  if (at <= c.now) c.db.remove(key);
  else c.db.setExpiry(key, e, at);
  return integer(1);
}

function ttl(c: Call, unit: 's' | 'ms'): Reply {
  const e = c.db.lookup(str(c.args[0]!), c.now);
  if (e === undefined) return integer(-2);
  if (e.expiresAt === undefined) return integer(-1);
  const ms = e.expiresAt - c.now;
  return integer(unit === 'ms' ? ms : Math.floor((ms + 500) / 1000));
}

function scan(c: Call): Reply {
  const rawCursor = str(c.args[0]!);
  // Redis reads the cursor as an unsigned 64-bit number; a negative one wraps around, past every real cursor.
  if (!/^-?[0-9]+$/.test(rawCursor) || BigInt(rawCursor.replace('-', '')) > 2n ** 64n - 1n) throw new CommandError('ERR invalid cursor');
  const cursor = rawCursor.startsWith('-') ? 2n ** 64n : BigInt(rawCursor);
  let pattern: string | undefined;
  let type: string | undefined;
  let count = 10;
  for (let i = 1; i < c.args.length; i += 2) {
    const opt = upper(c.args[i]);
    const value = c.args[i + 1];
    if (value === undefined) throw new CommandError(SYNTAX);
    if (opt === 'MATCH') pattern = str(value);
    else if (opt === 'TYPE') type = str(value).toLowerCase();
    else if (opt === 'COUNT') {
      count = indexArg(value);
      if (count < 1) throw new CommandError(SYNTAX);
    } else throw new CommandError(SYNTAX);
  }
  const page = c.db.scan(cursor, count, c.now, (key, e) => (pattern === undefined || globMatch(pattern, key)) && (type === undefined || e.value.type === type));
  return array([bulk(String(page.cursor)), bulks(page.keys.map(buf))]);
}

function del(c: Call): Reply {
  return integer(c.args.filter((k) => c.db.lookup(str(k), c.now) !== undefined && c.db.remove(str(k))).length);
}

function rename(c: Call): Reply {
  const [from, to] = [str(c.args[0]!), str(c.args[1]!)];
  const e = c.db.lookup(from, c.now);
  if (e === undefined) throw new CommandError('ERR no such key');
  if (from === to) return OK;
  c.db.remove(from);
  c.db.remove(to);
  c.db.put(to, e.value, e.expiresAt, c.now);
  return OK;
}

/** The key commands, in the order COMMAND lists them. */
export const KEY_COMMANDS: CommandTable = {
  del: { arity: -2, run: del },
  // Redis frees the memory in the background; here there is nothing to defer.
  unlink: { arity: -2, run: del },
  exists: { arity: -2, run: (c) => integer(c.args.filter((k) => c.db.lookup(str(k), c.now)).length) },
  expire: { arity: -3, run: (c) => expire(c, 's', 'expire') },
  pexpire: { arity: -3, run: (c) => expire(c, 'ms', 'pexpire') },
  ttl: { arity: 2, run: (c) => ttl(c, 's') },
  pttl: { arity: 2, run: (c) => ttl(c, 'ms') },
  persist: {
    arity: 2,
    run: (c) => {
      const key = str(c.args[0]!);
      const e = c.db.lookup(key, c.now);
      if (e?.expiresAt === undefined) return integer(0);
      c.db.setExpiry(key, e, undefined);
      return integer(1);
    },
  },
  type: { arity: 2, run: (c) => status(c.db.lookup(str(c.args[0]!), c.now)?.value.type ?? 'none') },
  keys: { arity: 2, run: (c) => bulks([...c.db.keys(c.now)].filter(([k]) => globMatch(str(c.args[0]!), k)).map(([k]) => buf(k))) },
  scan: { arity: -2, run: scan },
  rename: { arity: 3, run: rename },
};
