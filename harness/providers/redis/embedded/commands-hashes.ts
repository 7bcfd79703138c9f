/** The embedded Redis's hash commands. */
import { wrongArgs, type Call, type CommandTable } from './commands-common.ts';
import { buf, str } from './keyspace.ts';
import { bulk, bulks, CommandError, inInt64, intArg, integer, OVERFLOW, parseInt64, type Reply } from './resp-protocol.ts';

function hset(c: Call): Reply {
  if (c.args.length % 2 !== 1) throw new CommandError(wrongArgs('hset'));
  const fields = c.db.readOrCreate(str(c.args[0]!), 'hash', c.now, () => ({ type: 'hash', fields: new Map() })).fields;
  let created = 0;
  for (let i = 1; i < c.args.length; i += 2) {
    if (!fields.has(str(c.args[i]!))) created++;
    fields.set(str(c.args[i]!), c.args[i + 1]!);
  }
  return integer(created);
}

const hashFields = (c: Call): Map<string, Buffer> | undefined => c.db.read(str(c.args[0]!), 'hash', c.now)?.fields;

function hdel(c: Call): Reply {
  const key = str(c.args[0]!);
  const hash = c.db.read(key, 'hash', c.now);
  if (hash === undefined) return integer(0);
  const removed = c.args.slice(1).filter((f) => hash.fields.delete(str(f))).length;
  c.db.removeIfEmpty(key, hash);
  return integer(removed);
}

function hincrby(c: Call): Reply {
  const delta = intArg(c.args[2]!);
  const fields = c.db.readOrCreate(str(c.args[0]!), 'hash', c.now, () => ({ type: 'hash', fields: new Map() })).fields;
  const field = str(c.args[1]!);
  const stored = fields.get(field);
  const current = stored === undefined ? 0n : parseInt64(stored);
  if (current === undefined) throw new CommandError('ERR hash value is not an integer');
  const next = current + delta;
  if (!inInt64(next)) throw new CommandError(OVERFLOW);
  fields.set(field, Buffer.from(String(next)));
  return integer(next);
}

/** The hash commands, in the order COMMAND lists them. */
export const HASH_COMMANDS: CommandTable = {
  hset: { arity: -4, run: hset },
  hget: { arity: 3, run: (c) => bulk(hashFields(c)?.get(str(c.args[1]!)) ?? null) },
  hmget: { arity: -3, run: (c) => bulks(c.args.slice(1).map((f) => hashFields(c)?.get(str(f)) ?? null)) },
  hgetall: { arity: 2, run: (c) => bulks([...(hashFields(c) ?? [])].flatMap(([f, v]) => [buf(f), v])) },
  hdel: { arity: -3, run: hdel },
  hincrby: { arity: 4, run: hincrby },
  hlen: { arity: 2, run: (c) => integer(hashFields(c)?.size ?? 0) },
  hexists: { arity: 3, run: (c) => integer(hashFields(c)?.has(str(c.args[1]!)) ? 1 : 0) },
};
