/**
 * What every command of the embedded Redis shares: a client's session, the call a command runs against, how a
 * command is declared (arity, whether it runs inside MULTI), and Redis's wording of argument errors.
 */
import { str, type Database } from './keyspace.ts';
import type { Reply } from './resp-protocol.ts';
import type { RedisEngine } from './resp-server.ts';

/** The Redis version this server answers like: replies, error texts and option rules follow Redis 7.0. */
export const EMBEDDED_REDIS_VERSION = '7.0.0';

/** One client connection's state. */
export interface Session {
  readonly id: number;
  db: number;
  name: Buffer | undefined;
  /** Commands queued since MULTI; `dirty` once one was refused, so that EXEC aborts. */
  multi: { readonly queued: Buffer[][]; dirty: boolean } | undefined;
  /** Set by QUIT: the connection closes once the reply is written. */
  closing: boolean;
}

/** What a command runs against. */
export interface Call {
  /** The arguments after the command name. */
  readonly args: readonly Buffer[];
  readonly session: Session;
  readonly db: Database;
  readonly engine: RedisEngine;
  readonly now: number;
}

export interface CommandSpec {
  /** Redis's arity, counting the name: n means exactly n, -n at least n. */
  readonly arity: number;
  /** Runs at once even inside MULTI (the transaction commands themselves, and QUIT). */
  readonly immediate?: boolean;
  readonly run: (c: Call) => Reply;
}

/** Commands (or subcommands) by name. */
export type CommandTable = Readonly<Record<string, CommandSpec>>;

export const arityOk = (arity: number, argc: number): boolean => (arity >= 0 ? argc === arity : argc >= -arity);
export const wrongArgs = (name: string): string => `ERR wrong number of arguments for '${name}' command`;

/** `ERR unknown command 'x', with args beginning with: 'a' 'b' `, with Redis's cut at 128 characters. */
export function unknownCommand(argv: readonly Buffer[]): string {
  let args = '';
  for (const a of argv.slice(1)) {
    if (args.length >= 128) break;
    args += `'${str(a).slice(0, 128 - args.length)}' `;
  }
  return `ERR unknown command '${str(argv[0]!).slice(0, 128)}', with args beginning with: ${args}`;
}

export const upper = (b: Buffer | undefined): string => (b === undefined ? '' : str(b).toUpperCase());
