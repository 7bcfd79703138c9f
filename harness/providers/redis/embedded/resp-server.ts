import { createServer, type Server, type Socket } from 'node:net';
import { arityOk, EMBEDDED_REDIS_VERSION, unknownCommand, wrongArgs, type CommandSpec, type Session } from './commands-common.ts';
import { COMMANDS } from './commands.ts';
import { Database, DATABASES, str } from './keyspace.ts';
import { array, CommandError, encodeReply, error, OK, ProtocolError, RequestParser, status, type Reply } from './resp-protocol.ts';

/**
 * The twin's own small Redis: RESP2 over TCP with an in-memory keyspace of 16 databases, answering the commands the
 * services use with Redis 7's replies and error texts. It runs in a child process (`embedded-redis-main.ts`), so a
 * live stack can boot without a `redis-server` binary while SIGKILL, SIGSTOP and restarts stay real faults.
 *
 * Layers, each testable on its own: replies and their encoding and the request parser (pipelined multibulk frames,
 * partial frames, inline commands) in `resp-protocol.ts`, the keyspace (`Database`, with a clock passed in) in
 * `keyspace.ts`, the command table in `commands.ts` (with `commands-common.ts` and one `commands-<type>.ts` a data
 * type), then here `RedisEngine` (sessions, MULTI/EXEC), `RespConnection` (bytes in, bytes out) and the socket glue.
 */

/** How often expired keys that nobody reads are removed (Redis's default `hz` is 10). */
const SWEEP_INTERVAL_MS = 100;

// ---------------------------------------------------------------------------------------------------------------
// The engine: the databases and the sessions, without sockets

export interface EngineOptions {
  /** The clock, in epoch ms (a fake one in unit tests). */
  readonly now?: () => number;
  /** Reported in INFO. */
  readonly port?: number;
}

export class RedisEngine {
  readonly #dbs = Array.from({ length: DATABASES }, () => new Database());
  readonly #now: () => number;
  readonly #port: number;
  readonly #startedAt: number;
  readonly #sessions = new Set<Session>();
  #nextClientId = 1;

  constructor(opts: EngineOptions = {}) {
    this.#now = opts.now ?? Date.now;
    this.#port = opts.port ?? 0;
    this.#startedAt = this.#now();
  }

  openSession(): Session {
    const s: Session = { id: this.#nextClientId++, db: 0, name: undefined, multi: undefined, closing: false };
    this.#sessions.add(s);
    return s;
  }

  closeSession(s: Session): void {
    this.#sessions.delete(s);
  }

  /**
   * Runs one request (`argv[0]` is the command) for a session. Inside MULTI, commands are checked (known, right
   * arity) and queued; a refused one makes EXEC abort, as in Redis.
   */
  execute(s: Session, argv: readonly Buffer[]): Reply {
    const name = str(argv[0]!).toLowerCase();
    const spec = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
    const refuse = (message: string): Reply => {
      if (s.multi) s.multi.dirty = true;
      return error(message);
    };
    if (spec === undefined) return refuse(unknownCommand(argv));
    if (!arityOk(spec.arity, argv.length)) {
      if (name === 'exec' && s.multi) {
        // EXEC with the wrong arguments ends the transaction it was meant to run.
        s.multi = undefined;
        return error(`EXECABORT Transaction discarded because of: ${wrongArgs(name).slice('ERR '.length)}`);
      }
      return refuse(wrongArgs(name));
    }
    if (s.multi && !spec.immediate) {
      s.multi.queued.push([...argv]);
      return status('QUEUED');
    }
    return this.#run(spec, s, argv);
  }

  #run(spec: CommandSpec, s: Session, argv: readonly Buffer[]): Reply {
    try {
      return spec.run({ args: argv.slice(1), session: s, db: this.#dbs[s.db]!, engine: this, now: this.#now() });
    } catch (err) {
      if (err instanceof CommandError) return error(err.message);
      throw err;
    }
  }

  multi(s: Session): Reply {
    if (s.multi) return error('ERR MULTI calls can not be nested');
    s.multi = { queued: [], dirty: false };
    return OK;
  }

  exec(s: Session): Reply {
    if (!s.multi) return error('ERR EXEC without MULTI');
    const { queued, dirty } = s.multi;
    s.multi = undefined;
    if (dirty) return error('EXECABORT Transaction discarded because of previous errors.');
    return array(queued.map((argv) => this.#run(COMMANDS[str(argv[0]!).toLowerCase()]!, s, argv)));
  }

  discard(s: Session): Reply {
    if (!s.multi) return error('ERR DISCARD without MULTI');
    s.multi = undefined;
    return OK;
  }

  flushAll(): void {
    for (const db of this.#dbs) db.clear();
  }

  /** Removes expired keys nobody has read since they expired. */
  sweepExpired(): void {
    const now = this.#now();
    for (const db of this.#dbs) db.sweep(now);
  }

  /** INFO's sections: enough for clients' ready checks (`loading:0`) and for people (version, keyspace). */
  infoSections(now: number): { name: string; lines: string[] }[] {
    const uptime = Math.floor((now - this.#startedAt) / 1000);
    return [
      {
        name: 'Server',
        lines: [`redis_version:${EMBEDDED_REDIS_VERSION}`, 'redis_mode:standalone', `process_id:${process.pid}`, `tcp_port:${this.#port}`, `uptime_in_seconds:${uptime}`, `uptime_in_days:${Math.floor(uptime / 86_400)}`, 'executable:embedded (circleci-server-twin)'],
      },
      { name: 'Clients', lines: [`connected_clients:${this.#sessions.size}`] },
      { name: 'Persistence', lines: ['loading:0', 'async_loading:0', 'rdb_bgsave_in_progress:0', 'aof_enabled:0'] },
      {
        name: 'Keyspace',
        lines: this.#dbs.flatMap((db, i) => (db.size > 0 ? [`db${i}:keys=${db.size},expires=${db.volatileCount},avg_ttl=0`] : [])),
      },
    ];
  }
}

// ---------------------------------------------------------------------------------------------------------------
// A connection: bytes in, bytes out

/** One client connection without its socket: feed it what arrived, write what it answers. */
export class RespConnection {
  readonly #parser = new RequestParser();
  readonly #session: Session;

  constructor(private readonly engine: RedisEngine) {
    this.#session = engine.openSession();
  }

  /** The replies to every complete request in what has arrived so far, and whether to close after writing them. */
  receive(chunk: Buffer): { output: Buffer; close: boolean } {
    this.#parser.push(chunk);
    const out: Buffer[] = [];
    while (!this.#session.closing) {
      let request: Buffer[] | undefined;
      try {
        request = this.#parser.next();
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
        encodeReply(error(err.message), out);
        this.#session.closing = true;
        break;
      }
      if (request === undefined) break;
      if (request.length > 0) encodeReply(this.engine.execute(this.#session, request), out);
    }
    return { output: Buffer.concat(out), close: this.#session.closing };
  }

  close(): void {
    this.engine.closeSession(this.#session);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The socket

export interface RespServer {
  readonly port: number;
  /** Stops listening and drops every connection (what a graceful shutdown of a memory-only Redis amounts to). */
  close(): Promise<void>;
}

/** Listens on host:port (0 for any free port) and serves RESP2 until closed; rejects if the port cannot be bound. */
export async function startRespServer(opts: { host: string; port: number }): Promise<RespServer> {
  const sockets = new Set<Socket>();
  // Made once the port is known (INFO reports it); no connection can arrive before that.
  let engine: RedisEngine | undefined;
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    serve(socket, new RespConnection(engine!));
  });
  await listen(server, opts.host, opts.port);
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : opts.port;
  engine = new RedisEngine({ port });
  const sweeper = setInterval(() => engine.sweepExpired(), SWEEP_INTERVAL_MS);
  sweeper.unref();
  return {
    port,
    close: async () => {
      clearInterval(sweeper);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Pipes a socket through a connection; reading pauses while the client is slow to take our replies. */
function serve(socket: Socket, conn: RespConnection): void {
  socket.setNoDelay(true);
  socket.on('data', (chunk: Buffer) => {
    const { output, close } = conn.receive(chunk);
    const flushed = output.length === 0 || socket.write(output);
    if (close) {
      socket.end();
      socket.removeAllListeners('data');
    } else if (!flushed) {
      socket.pause();
      socket.once('drain', () => socket.resume());
    }
  });
  // A client that vanishes mid-request is its own business; nothing here needs to know.
  socket.on('error', () => undefined);
  socket.once('close', () => conn.close());
}
