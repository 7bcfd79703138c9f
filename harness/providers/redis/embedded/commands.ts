/**
 * The embedded Redis's command table: the connection and server commands (PING, SELECT, AUTH, HELLO, CLIENT, INFO,
 * COMMAND, FLUSHDB, ...) are here; the commands on data come from one file per type (`commands-*.ts`).
 */
import { arityOk, EMBEDDED_REDIS_VERSION, upper, wrongArgs, type Call, type CommandTable, type Session } from './commands-common.ts';
import { HASH_COMMANDS } from './commands-hashes.ts';
import { KEY_COMMANDS } from './commands-keys.ts';
import { LIST_COMMANDS } from './commands-lists.ts';
import { SET_COMMANDS } from './commands-sets.ts';
import { STRING_COMMANDS } from './commands-strings.ts';
import { DATABASES, str } from './keyspace.ts';
import { array, bulk, bulks, CommandError, intArg, integer, NIL, OK, parseInt64, status, SYNTAX, type Reply } from './resp-protocol.ts';

// -- connection and server

/** Client names (and library tags) are printable ASCII without spaces, as Redis requires. */
function validName(b: Buffer): boolean {
  return b.every((byte) => byte > 0x20 && byte < 0x7f);
}

function setClientName(s: Session, name: Buffer): void {
  if (!validName(name)) throw new CommandError('ERR Client names cannot contain spaces, newlines or special characters.');
  s.name = name.length === 0 ? undefined : name;
}

/** AUTH with no password configured: the default user takes any password, every other user is refused. */
function authenticate(user: Buffer): void {
  if (str(user) !== 'default') throw new CommandError('WRONGPASS invalid username-password pair or user is disabled.');
}

/** HELLO as a RESP2-only server answers it: protocol 3 is refused with NOPROTO, which makes clients (ioredis) fall back. */
function hello(c: Call): Reply {
  const [version, ...opts] = c.args;
  if (version !== undefined) {
    const v = parseInt64(version);
    if (v === undefined) throw new CommandError('ERR Protocol version is not an integer or out of range');
    if (v !== 2n) throw new CommandError('NOPROTO unsupported protocol version');
  }
  let auth: Buffer | undefined;
  let name: Buffer | undefined;
  for (let i = 0; i < opts.length; i++) {
    const opt = upper(opts[i]);
    if (opt === 'AUTH' && i + 2 < opts.length) {
      auth = opts[i + 1];
      i += 2;
    } else if (opt === 'SETNAME' && i + 1 < opts.length) {
      name = opts[++i];
    } else {
      throw new CommandError(`ERR Syntax error in HELLO option '${str(opts[i]!)}'`);
    }
  }
  if (auth !== undefined) authenticate(auth);
  if (name !== undefined) setClientName(c.session, name);
  return array([
    ...[bulk('server'), bulk('redis'), bulk('version'), bulk(EMBEDDED_REDIS_VERSION), bulk('proto'), integer(2)],
    ...[bulk('id'), integer(c.session.id), bulk('mode'), bulk('standalone'), bulk('role'), bulk('master'), bulk('modules'), array([])],
  ]);
}

/** CLIENT's subcommands, each with its own arity (named `client|x` in errors, as Redis names them). */
const CLIENT_SUBCOMMANDS: CommandTable = {
  SETNAME: {
    arity: 3,
    run: (c) => {
      setClientName(c.session, c.args[1]!);
      return OK;
    },
  },
  GETNAME: { arity: 2, run: (c) => bulk(c.session.name ?? null) },
  ID: { arity: 2, run: (c) => integer(c.session.id) },
  // Redis 7.2's library tags (ioredis sends them on connect); stored nowhere, since nothing here lists clients.
  SETINFO: {
    arity: 4,
    run: (c) => {
      const attr = upper(c.args[1]);
      if (attr !== 'LIB-NAME' && attr !== 'LIB-VER') throw new CommandError(`ERR Unrecognized option '${str(c.args[1]!)}'`);
      if (!validName(c.args[2]!)) throw new CommandError(`ERR ${str(c.args[1]!)} cannot contain spaces, newlines or special characters.`);
      return OK;
    },
  },
};

function client(c: Call): Reply {
  const sub = upper(c.args[0]);
  const spec = CLIENT_SUBCOMMANDS[sub];
  if (spec === undefined) throw new CommandError(`ERR unknown subcommand '${str(c.args[0]!)}'. Try CLIENT HELP.`);
  if (!arityOk(spec.arity, c.args.length + 1)) throw new CommandError(wrongArgs(`client|${sub.toLowerCase()}`));
  return spec.run(c);
}

function select(c: Call): Reply {
  const index = intArg(c.args[0]!);
  if (index < 0n || index >= BigInt(DATABASES)) throw new CommandError('ERR DB index is out of range');
  c.session.db = Number(index);
  return OK;
}

/** FLUSHDB/FLUSHALL's optional ASYNC or SYNC (both synchronous here). */
function flushMode(args: readonly Buffer[]): void {
  if (args.length > 1 || (args.length === 1 && !['ASYNC', 'SYNC'].includes(upper(args[0])))) throw new CommandError(SYNTAX);
}

/** COMMAND, minimal: COUNT, the names and arities through INFO, and no docs. */
function command(c: Call): Reply {
  const sub = upper(c.args[0]);
  const info = (name: string): Reply => {
    const spec = COMMANDS[name];
    return spec === undefined ? NIL : array([bulk(name), integer(spec.arity), array([]), integer(0), integer(0), integer(0), array([]), array([]), array([]), array([])]);
  };
  const names = c.args.slice(1).map((a) => str(a).toLowerCase());
  switch (sub) {
    case '':
      return array(Object.keys(COMMANDS).map(info));
    case 'COUNT':
      return integer(Object.keys(COMMANDS).length);
    case 'INFO':
      return array((names.length > 0 ? names : Object.keys(COMMANDS)).map(info));
    case 'DOCS':
      return array([]);
    default:
      throw new CommandError(`ERR unknown subcommand '${str(c.args[0]!)}'. Try COMMAND HELP.`);
  }
}

function time(c: Call): Reply {
  return bulks([String(Math.floor(c.now / 1000)), String((c.now % 1000) * 1000)]);
}

// -- INFO

function info(c: Call): Reply {
  const wanted = c.args.map((a) => str(a).toLowerCase());
  const all = wanted.length === 0 || wanted.some((w) => w === 'all' || w === 'everything' || w === 'default');
  const sections = c.engine.infoSections(c.now).filter((s) => all || wanted.includes(s.name.toLowerCase()));
  return bulk(sections.map((s) => [`# ${s.name}`, ...s.lines].map((l) => `${l}\r\n`).join('')).join('\r\n'));
}

// -- the table

export const COMMANDS: CommandTable = {
  // connection and server
  ping: {
    arity: -1,
    run: (c) => {
      if (c.args.length > 1) throw new CommandError(wrongArgs('ping'));
      return c.args[0] === undefined ? status('PONG') : bulk(c.args[0]);
    },
  },
  echo: { arity: 2, run: (c) => bulk(c.args[0]!) },
  select: { arity: 2, run: select },
  quit: {
    arity: -1,
    immediate: true,
    run: (c) => {
      c.session.closing = true;
      return OK;
    },
  },
  auth: {
    arity: -2,
    run: (c) => {
      if (c.args.length > 2) throw new CommandError(SYNTAX);
      if (c.args.length === 1) throw new CommandError('ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?');
      authenticate(c.args[0]!);
      return OK;
    },
  },
  hello: { arity: -1, run: hello },
  client: { arity: -2, run: client },
  info: { arity: -1, run: info },
  command: { arity: -1, run: command },
  dbsize: { arity: 1, run: (c) => integer(c.db.size) },
  flushdb: {
    arity: -1,
    run: (c) => {
      flushMode(c.args);
      c.db.clear();
      return OK;
    },
  },
  flushall: {
    arity: -1,
    run: (c) => {
      flushMode(c.args);
      c.engine.flushAll();
      return OK;
    },
  },
  time: { arity: 1, run: time },
  ...KEY_COMMANDS,
  ...STRING_COMMANDS,
  ...LIST_COMMANDS,
  ...SET_COMMANDS,
  ...HASH_COMMANDS,
  // transactions: handled by the engine, which owns the session's queue
  multi: { arity: 1, immediate: true, run: (c) => c.engine.multi(c.session) },
  exec: { arity: 1, immediate: true, run: (c) => c.engine.exec(c.session) },
  discard: { arity: 1, immediate: true, run: (c) => c.engine.discard(c.session) },
};
