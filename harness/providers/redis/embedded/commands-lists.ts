/** The embedded Redis's list commands: pushes and pops at either end, LRANGE, LINDEX, LREM, LTRIM. */
import { wrongArgs, type Call, type CommandTable } from './commands-common.ts';
import { str, type ValueOf } from './keyspace.ts';
import { array, bulk, bulks, CommandError, indexArg, integer, NIL, OK, parseInt64, type Reply } from './resp-protocol.ts';

const newList = (): ValueOf<'list'> => ({ type: 'list', items: [] });

function push(c: Call, end: 'head' | 'tail'): Reply {
  const list = c.db.readOrCreate(str(c.args[0]!), 'list', c.now, newList);
  for (const v of c.args.slice(1)) {
    if (end === 'head') list.items.unshift(v);
    else list.items.push(v);
  }
  return integer(list.items.length);
}

/** LPOP/RPOP: one element (a bulk), or with a count up to that many (an array; a null array for a missing key). */
function pop(c: Call, end: 'head' | 'tail', name: string): Reply {
  if (c.args.length > 2) throw new CommandError(wrongArgs(name));
  let count: number | undefined;
  if (c.args[1] !== undefined) {
    const n = parseInt64(c.args[1]);
    if (n === undefined || n < 0n) throw new CommandError('ERR value is out of range, must be positive');
    count = Number(n);
  }
  const key = str(c.args[0]!);
  const list = c.db.read(key, 'list', c.now);
  if (list === undefined) return count === undefined ? NIL : array(null);
  const taken = end === 'head' ? list.items.splice(0, count ?? 1) : list.items.splice(Math.max(0, list.items.length - (count ?? 1))).reverse();
  c.db.removeIfEmpty(key, list);
  return count === undefined ? bulk(taken[0] ?? null) : bulks(taken);
}

/**
 * The elements LRANGE returns and LTRIM keeps, by Redis's rule: negative indexes count from the end, the range is
 * clamped to the list, and a start past the stop is empty. The indexes are read before the key, as Redis does.
 */
function listSlice(c: Call): { key: string; list: ValueOf<'list'> | undefined; slice: Buffer[] } {
  let start = indexArg(c.args[1]!);
  let stop = indexArg(c.args[2]!);
  const key = str(c.args[0]!);
  const list = c.db.read(key, 'list', c.now);
  const length = list?.items.length ?? 0;
  if (start < 0) start = Math.max(0, start + length);
  if (stop < 0) stop += length;
  if (stop >= length) stop = length - 1;
  return { key, list, slice: start > stop || start >= length ? [] : list!.items.slice(start, stop + 1) };
}

function ltrim(c: Call): Reply {
  const { key, list, slice } = listSlice(c);
  if (list === undefined) return OK;
  list.items = slice;
  c.db.removeIfEmpty(key, list);
  return OK;
}

function lindex(c: Call): Reply {
  const items = c.db.read(str(c.args[0]!), 'list', c.now)?.items ?? [];
  const i = indexArg(c.args[1]!);
  return bulk(items[i < 0 ? i + items.length : i] ?? null);
}

/** LREM: removes up to |count| elements equal to `element`, from the head (count > 0), the tail (< 0) or all (0). */
function lrem(c: Call): Reply {
  const key = str(c.args[0]!);
  const count = indexArg(c.args[1]!);
  const list = c.db.read(key, 'list', c.now);
  if (list === undefined) return integer(0);
  const matching = list.items.flatMap((item, i) => (item.equals(c.args[2]!) ? [i] : []));
  if (count < 0) matching.reverse();
  const doomed = new Set(count === 0 ? matching : matching.slice(0, Math.abs(count)));
  list.items = list.items.filter((_, i) => !doomed.has(i));
  c.db.removeIfEmpty(key, list);
  return integer(doomed.size);
}

/** The list commands, in the order COMMAND lists them. */
export const LIST_COMMANDS: CommandTable = {
  lpush: { arity: -3, run: (c) => push(c, 'head') },
  rpush: { arity: -3, run: (c) => push(c, 'tail') },
  lpop: { arity: -2, run: (c) => pop(c, 'head', 'lpop') },
  rpop: { arity: -2, run: (c) => pop(c, 'tail', 'rpop') },
  lrange: { arity: 4, run: (c) => bulks(listSlice(c).slice) },
  llen: { arity: 2, run: (c) => integer(c.db.read(str(c.args[0]!), 'list', c.now)?.items.length ?? 0) },
  lindex: { arity: 3, run: lindex },
  lrem: { arity: 4, run: lrem },
  ltrim: { arity: 4, run: ltrim },
};
