/** The embedded Redis's string commands: GET, SET with its options, MGET/MSET, the INCR family, APPEND. */
import { upper, wrongArgs, type Call, type CommandTable } from './commands-common.ts';
import { deadline } from './commands-keys.ts';
import { str } from './keyspace.ts';
import { bulk, bulks, CommandError, inInt64, INT64_MIN, intArg, integer, NIL, NOT_INTEGER, OK, OVERFLOW, parseInt64, SYNTAX, WRONGTYPE, type Reply } from './resp-protocol.ts';

function get(c: Call): Reply {
  return bulk(c.db.read(str(c.args[0]!), 'string', c.now)?.data ?? null);
}

/** SET's expiry options: the unit, and whether the time counts from now (EX, PX) or is absolute (EXAT, PXAT). */
const SET_EXPIRIES: Readonly<Record<string, { unit: 's' | 'ms'; relative: boolean }>> = {
  EX: { unit: 's', relative: true },
  PX: { unit: 'ms', relative: true },
  EXAT: { unit: 's', relative: false },
  PXAT: { unit: 'ms', relative: false },
};

/** SET's options as Redis 7.0 checks them: NX/XX exclusive, one kind of expiry (the last one wins), KEEPTTL alone. */
function set(c: Call): Reply {
  const [rawKey, value, ...opts] = c.args;
  let condition: 'NX' | 'XX' | undefined;
  let returnOld = false;
  let keepTtl = false;
  let expiry: { unit: 's' | 'ms'; relative: boolean; raw: Buffer } | undefined;
  for (let i = 0; i < opts.length; i++) {
    const opt = upper(opts[i]);
    const kind = SET_EXPIRIES[opt];
    if ((opt === 'NX' || opt === 'XX') && condition !== (opt === 'NX' ? 'XX' : 'NX')) condition = opt;
    else if (opt === 'GET') returnOld = true;
    else if (opt === 'KEEPTTL' && expiry === undefined) keepTtl = true;
    else if (kind !== undefined && !keepTtl && i + 1 < opts.length && (expiry === undefined || (expiry.unit === kind.unit && expiry.relative === kind.relative))) expiry = { ...kind, raw: opts[++i]! };
    else throw new CommandError(SYNTAX);
  }
  const expiresAt = expiry === undefined ? undefined : deadline(expiry.raw, expiry.unit, expiry.relative, c.now, 'set', true);
  const key = str(rawKey!);
  const existing = c.db.lookup(key, c.now);
  if (returnOld && existing !== undefined && existing.value.type !== 'string') throw new CommandError(WRONGTYPE);
  const old = returnOld ? bulk(existing?.value.type === 'string' ? existing.value.data : null) : undefined;
  if ((condition === 'NX' && existing) || (condition === 'XX' && !existing)) return old ?? NIL;
  c.db.put(key, { type: 'string', data: value! }, keepTtl ? existing?.expiresAt : expiresAt, c.now);
  return old ?? OK;
}

function mset(c: Call): Reply {
  if (c.args.length % 2 !== 0) throw new CommandError(wrongArgs('mset'));
  for (let i = 0; i < c.args.length; i += 2) c.db.put(str(c.args[i]!), { type: 'string', data: c.args[i + 1]! }, undefined, c.now);
  return OK;
}

/** INCRBY and friends: a string holding a 64-bit integer (a missing key counts as 0), keeping the key's expiry. */
function incrementBy(c: Call, delta: bigint): Reply {
  const key = str(c.args[0]!);
  const v = c.db.read(key, 'string', c.now);
  const current = v === undefined ? 0n : parseInt64(v.data);
  if (current === undefined) throw new CommandError(NOT_INTEGER);
  const next = current + delta;
  if (!inInt64(next)) throw new CommandError(OVERFLOW);
  const data = Buffer.from(String(next));
  if (v) v.data = data;
  else c.db.put(key, { type: 'string', data }, undefined, c.now);
  return integer(next);
}

function decrementBy(c: Call): Reply {
  const delta = intArg(c.args[1]!);
  if (delta === INT64_MIN) throw new CommandError('ERR decrement would overflow');
  return incrementBy(c, -delta);
}

function append(c: Call): Reply {
  const key = str(c.args[0]!);
  const v = c.db.read(key, 'string', c.now);
  if (v === undefined) {
    c.db.put(key, { type: 'string', data: c.args[1]! }, undefined, c.now);
    return integer(c.args[1]!.length);
  }
  v.data = Buffer.concat([v.data, c.args[1]!]);
  return integer(v.data.length);
}

/** The string commands, in the order COMMAND lists them. */
export const STRING_COMMANDS: CommandTable = {
  get: { arity: 2, run: get },
  set: { arity: -3, run: set },
  setnx: {
    arity: 3,
    run: (c) => {
      if (c.db.lookup(str(c.args[0]!), c.now)) return integer(0);
      c.db.put(str(c.args[0]!), { type: 'string', data: c.args[1]! }, undefined, c.now);
      return integer(1);
    },
  },
  // MGET answers nil for keys of another type, never WRONGTYPE.
  mget: { arity: -2, run: (c) => bulks(c.args.map((k) => c.db.lookup(str(k), c.now)?.value).map((v) => (v?.type === 'string' ? v.data : null))) },
  mset: { arity: -3, run: mset },
  incr: { arity: 2, run: (c) => incrementBy(c, 1n) },
  incrby: { arity: 3, run: (c) => incrementBy(c, intArg(c.args[1]!)) },
  decr: { arity: 2, run: (c) => incrementBy(c, -1n) },
  decrby: { arity: 3, run: decrementBy },
  append: { arity: 3, run: append },
  strlen: { arity: 2, run: (c) => integer(c.db.read(str(c.args[0]!), 'string', c.now)?.data.length ?? 0) },
};
