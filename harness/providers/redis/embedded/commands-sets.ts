/** The embedded Redis's set commands. */
import type { Call, CommandTable } from './commands-common.ts';
import { buf, str } from './keyspace.ts';
import { bulks, integer, type Reply } from './resp-protocol.ts';

function sadd(c: Call): Reply {
  const members = c.db.readOrCreate(str(c.args[0]!), 'set', c.now, () => ({ type: 'set', members: new Set() })).members;
  let added = 0;
  for (const m of c.args.slice(1)) {
    if (!members.has(str(m))) added++;
    members.add(str(m));
  }
  return integer(added);
}

function srem(c: Call): Reply {
  const key = str(c.args[0]!);
  const set = c.db.read(key, 'set', c.now);
  if (set === undefined) return integer(0);
  const removed = c.args.slice(1).filter((m) => set.members.delete(str(m))).length;
  c.db.removeIfEmpty(key, set);
  return integer(removed);
}

/** The set commands, in the order COMMAND lists them. */
export const SET_COMMANDS: CommandTable = {
  sadd: { arity: -3, run: sadd },
  srem: { arity: -3, run: srem },
  scard: { arity: 2, run: (c) => integer(c.db.read(str(c.args[0]!), 'set', c.now)?.members.size ?? 0) },
  smembers: { arity: 2, run: (c) => bulks([...(c.db.read(str(c.args[0]!), 'set', c.now)?.members ?? [])].map(buf)) },
  sismember: { arity: 3, run: (c) => integer(c.db.read(str(c.args[0]!), 'set', c.now)?.members.has(str(c.args[1]!)) ? 1 : 0) },
};
