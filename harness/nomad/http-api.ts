/**
 * The HTTP face of the twin's Nomad server: Nomad's routes, methods, query options, headers and error
 * texts, on the twin's HTTP layer (`harness/http/`), in front of a `NomadApiState`.
 *
 * Conventions follow Nomad's `command/agent/http.go` and `*_endpoint.go`: JSON bodies, errors as plain text
 * with the status Nomad uses (`405 Invalid method`, `404 job not found`, `400 Invalid wait time`), read
 * endpoints answer with `X-Nomad-Index`, `X-Nomad-KnownLeader` and `X-Nomad-LastContact`, and block with
 * `?index=N&wait=D` until the result's index exceeds N or the wait (at most 5 minutes, plus up to 1/16
 * jitter) runs out. Twin-only endpoints live under `/v1/twin/`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError, HttpRoutes, LAYER_ERROR_CODES, type HttpErrorMapper, type HttpMethod, type HttpRequest } from '../http/index.ts';
import type { Rng } from '../../sim/engine/rng.ts';
import type { NodeStatus } from '../../sim/models/nomad/index.ts';
import { SEARCH_CONTEXTS, type DrainRequest, type NomadApiState, type QueryResult, type SearchContext } from './api-state.ts';
import { DurationSyntaxError, blockingWaitMs, parseGoDuration, waitJitterMs } from './duration.ts';
import { NomadHttpError } from './job-spec.ts';
import { NODE_DISK_MB as DISK_MB, toAgentSelf, type AgentIdentity } from './shapes.ts';

/** Which drain and eligibility forms the API accepts: both (default), or only Nomad ≤ 0.7's `?enable=`. */
export type ApiCompat = 'both' | 'legacy';

/** Nomad's text for a method a route does not take. */
export const ERR_INVALID_METHOD = 'Invalid method';
/** Bodies larger than this are refused (a job spec is a few kB). */
export const MAX_BODY_BYTES = 8 * 1024 * 1024;

/**
 * Nomad's errors as its HTTP layer sends them: the message as plain text, no newline (`Unexpected response code:
 * 404 (job not found)` is how its clients print it). The twin's HTTP layer's own errors get Nomad's words: an
 * unknown path is a bare 404, a method a route does not take `405 Invalid method`.
 */
export const nomadErrors: HttpErrorMapper = (error, request) => ({ contentType: 'text/plain; charset=utf-8', body: error instanceof NomadHttpError ? error.message : layerErrorText(error, request.path) });

function layerErrorText(error: HttpError, path: string): string {
  switch (error.code) {
    case LAYER_ERROR_CODES.notFound:
      return '';
    case LAYER_ERROR_CODES.methodNotAllowed:
      return ERR_INVALID_METHOD;
    case LAYER_ERROR_CODES.badUrl:
      return `Invalid URL path encoding: ${path}`;
    case LAYER_ERROR_CODES.tooLarge:
      return `Request body is larger than ${MAX_BODY_BYTES} bytes`;
    default:
      return error.message;
  }
}

/** A request's blocking-query options (`?index=&wait=`). */
export interface BlockingQuery {
  /** 0 when the request does not block. */
  minIndex: number;
  /** The wait asked for, in ms, or undefined when absent. */
  waitMs: number | undefined;
}

/** Reads `?wait=` and `?index=` as Nomad's `parseWait` does; throws Nomad's 400s. */
export function parseBlockingQuery(params: URLSearchParams): BlockingQuery {
  let waitMs: number | undefined;
  const wait = params.get('wait');
  if (wait !== null && wait !== '') {
    try {
      waitMs = parseGoDuration(wait);
    } catch (err) {
      if (err instanceof DurationSyntaxError) throw new NomadHttpError(400, 'Invalid wait time');
      throw err;
    }
  }
  let minIndex = 0;
  const index = params.get('index');
  if (index !== null && index !== '') {
    if (!/^\d+$/.test(index) || !Number.isSafeInteger(Number(index))) throw new NomadHttpError(400, 'Invalid index');
    minIndex = Number(index);
  }
  return { minIndex, waitMs };
}

/** Go's `strconv.ParseBool`: the spellings Nomad accepts for a boolean query parameter. */
export function parseGoBool(s: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  return undefined;
}

/** The deadline 0.9's handler gives a `?enable=true` drain: -1 s, a force drain (its allocations are migrated now). */
export const FORCE_DRAIN_DEADLINE_NS = -1e9;
/** Bytes per frame of a log stream (Nomad's `streamFrameSize` is 64 KiB). */
export const LOG_FRAME_BYTES = 64 * 1024;
/** How often a followed log stream looks for new output, and the longest it follows one allocation. */
export const LOG_FOLLOW_POLL_MS = 250;
export const LOG_FOLLOW_MAX_MS = 60 * 60 * 1000;

type Method = 'GET' | 'PUT' | 'POST' | 'DELETE';

interface RequestCtx {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** Path parameters captured by the route, URL-decoded. */
  params: string[];
  /** The layer's request: the body, read once within the server's `maxBodyBytes`. */
  request: HttpRequest;
}

type Handler = (ctx: RequestCtx) => void | Promise<void>;

interface Route {
  path: RegExp;
  methods: Partial<Record<Method, Handler>>;
}

/** Settled options of the HTTP layer. */
export interface NomadHttpApiOptions {
  identity: AgentIdentity;
  compat: ApiCompat;
  /** Draws for the wait jitter (a fork of the API's root stream). */
  jitterRng: Rng;
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** A list's `?prefix=` (the CLI looks ids up by prefix); empty keeps everything. */
function prefixOf(c: RequestCtx): string {
  return c.url.searchParams.get('prefix') ?? '';
}

/**
 * Why a UUID prefix is not one, in go-memdb's words (`UUIDFieldIndex.parseString`), or undefined when it is:
 * Nomad looks nodes, evaluations and allocations up in a UUID index, which wants whole hex bytes.
 */
export function uuidPrefixError(prefix: string): string | undefined {
  if (prefix.length > 36) return `Invalid UUID length. UUID have 36 characters; got ${prefix.length}`;
  const hyphens = prefix.split('-').length - 1;
  if (hyphens > 4) return `UUID should have maximum of 4 "-"; got ${hyphens}`;
  const hex = prefix.replace(/-/g, '');
  if (hex.length % 2 !== 0) return 'Input (without hyphens) must be even length';
  const bad = /[^0-9a-fA-F]/.exec(hex);
  if (bad === null) return undefined;
  const cp = bad[0].codePointAt(0)!;
  const u = `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  // Go's %#U: the code point, then the character when it is printable.
  return `Invalid UUID: encoding/hex: invalid byte: ${cp >= 0x20 && cp < 0x7f ? `${u} '${bad[0]}'` : u}`;
}

/** A `?prefix=` on a UUID-keyed list; a malformed one is the state store's 500 (`eval lookup failed: index error: ...`). */
function uuidPrefixOf(c: RequestCtx, kind: 'node' | 'eval' | 'alloc'): string {
  const prefix = prefixOf(c);
  const why = prefix === '' ? undefined : uuidPrefixError(prefix);
  if (why !== undefined) throw new NomadHttpError(500, `${kind} lookup failed: index error: ${why}`);
  return prefix;
}

/** go-metrics' interval timestamp (`2019-06-20 12:34:50 +0000 UTC`), to the 10 s interval Nomad uses. */
function metricsTimestamp(nowMs: number): string {
  const iso = new Date(Math.floor(nowMs / 10_000) * 10_000).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} +0000 UTC`;
}


/** Reads a Go boolean query parameter; Nomad's handlers answer a bad one with an uncoded error (500). */
function boolParam(params: URLSearchParams, key: string, what: string): boolean {
  const raw = params.get(key);
  if (raw === null || raw === '') return false;
  const b = parseGoBool(raw);
  if (b === undefined) throw new NomadHttpError(500, `Failed to parse ${what} field to boolean: strconv.ParseBool: parsing ${JSON.stringify(raw)}: invalid syntax`);
  return b;
}

/** Nomad's HTTP API over a `NomadApiState`; `routes()` is its table on the shared HTTP layer, `nomadErrors` its mapper. */
export class NomadHttpApi {
  private readonly table: readonly Route[];
  /** Blocking queries in flight: each finishes (answers with what it has) when called. */
  private readonly waiters = new Set<() => void>();

  constructor(
    private readonly state: NomadApiState,
    private readonly opts: NomadHttpApiOptions,
  ) {
    const s = state;
    // Suffix routes come before the plain object routes, as Nomad's `JobSpecificRequest` checks suffixes first.
    this.table = [
      { path: /^\/v1\/jobs$/, methods: { GET: (c) => this.read(c, () => s.listJobs(prefixOf(c))), PUT: (c) => this.register(c), POST: (c) => this.register(c) } },
      { path: /^\/v1\/job\/(.+)\/allocations$/, methods: { GET: (c) => this.read(c, () => s.jobAllocations(c.params[0]!)) } },
      { path: /^\/v1\/job\/(.+)\/evaluations$/, methods: { GET: (c) => this.read(c, () => s.jobEvaluations(c.params[0]!)) } },
      // No deployments: batch jobs have none. Nomad answers `null`, `[]`, and the job's one version.
      { path: /^\/v1\/job\/(.+)\/deployment$/, methods: { GET: (c) => this.read(c, () => ({ index: s.tables.jobs, body: null })) } },
      { path: /^\/v1\/job\/(.+)\/deployments$/, methods: { GET: (c) => this.read(c, () => ({ index: s.tables.jobs, body: [] })) } },
      { path: /^\/v1\/job\/(.+)\/versions$/, methods: { GET: (c) => this.read(c, () => s.jobVersions(c.params[0]!), 'job versions not found') } },
      { path: /^\/v1\/job\/(.+)\/summary$/, methods: { GET: (c) => this.read(c, () => s.jobSummary(c.params[0]!), 'job not found') } },
      {
        path: /^\/v1\/job\/(.+)$/,
        methods: {
          GET: (c) => this.read(c, () => s.job(c.params[0]!), 'job not found'),
          PUT: (c) => this.register(c, c.params[0]),
          POST: (c) => this.register(c, c.params[0]),
          DELETE: (c) => this.deregister(c),
        },
      },
      { path: /^\/v1\/allocations$/, methods: { GET: (c) => this.read(c, () => s.allocations(uuidPrefixOf(c, 'alloc'))) } },
      { path: /^\/v1\/allocation\/(.+)$/, methods: { GET: (c) => this.read(c, () => s.allocation(c.params[0]!), 'alloc not found') } },
      { path: /^\/v1\/evaluations$/, methods: { GET: (c) => this.read(c, () => s.evaluations(uuidPrefixOf(c, 'eval'))) } },
      { path: /^\/v1\/evaluation\/(.+)\/allocations$/, methods: { GET: (c) => this.read(c, () => s.evaluationAllocations(c.params[0]!)) } },
      { path: /^\/v1\/evaluation\/(.+)$/, methods: { GET: (c) => this.read(c, () => s.evaluation(c.params[0]!), 'eval not found') } },
      { path: /^\/v1\/nodes$/, methods: { GET: (c) => this.read(c, () => s.nodes(uuidPrefixOf(c, 'node'))) } },
      { path: /^\/v1\/deployments$/, methods: { GET: (c) => this.read(c, () => ({ index: 1, body: [] })) } },
      { path: /^\/v1\/search$/, methods: { PUT: (c) => this.search(c), POST: (c) => this.search(c) } },
      { path: /^\/v1\/node\/(.+)\/allocations$/, methods: { GET: (c) => this.read(c, () => s.nodeAllocations(c.params[0]!)) } },
      { path: /^\/v1\/node\/(.+)\/drain$/, methods: { PUT: (c) => this.drain(c), POST: (c) => this.drain(c) } },
      ...(opts.compat === 'both'
        ? [{ path: /^\/v1\/node\/(.+)\/eligibility$/, methods: { PUT: (c: RequestCtx) => this.eligibility(c), POST: (c: RequestCtx) => this.eligibility(c) } }]
        : []),
      { path: /^\/v1\/node\/(.+)$/, methods: { GET: (c) => this.read(c, () => s.node(c.params[0]!), 'node not found') } },
      // The simulated clients' HTTP API: every node's HTTPAddr is this listener.
      { path: /^\/v1\/client\/fs\/logs\/(.+)$/, methods: { GET: (c) => this.logs(c) } },
      { path: /^\/v1\/client\/allocation\/(.+)\/stats$/, methods: { GET: (c) => this.allocStats(c) } },
      { path: /^\/v1\/client\/stats$/, methods: { GET: (c) => this.hostStats(c) } },
      { path: /^\/v1\/regions$/, methods: { GET: (c) => this.json(c.res, 200, [this.opts.identity.region]) } },
      { path: /^\/v1\/agent\/servers$/, methods: { GET: (c) => this.json(c.res, 200, [this.opts.identity.rpcAddr]) } },
      { path: /^\/v1\/operator\/raft\/configuration$/, methods: { GET: (c) => this.json(c.res, 200, this.raftConfiguration()) } },
      { path: /^\/v1\/metrics$/, methods: { GET: (c) => this.json(c.res, 200, { Timestamp: metricsTimestamp(this.state.settings.clock.nowMs), Gauges: [], Counters: [], Samples: [] }) } },
      { path: /^\/v1\/status\/leader$/, methods: { GET: (c) => this.json(c.res, 200, this.opts.identity.rpcAddr) } },
      { path: /^\/v1\/status\/peers$/, methods: { GET: (c) => this.json(c.res, 200, [this.opts.identity.rpcAddr]) } },
      { path: /^\/v1\/agent\/self$/, methods: { GET: (c) => this.json(c.res, 200, toAgentSelf(this.opts.identity, { commitIndex: s.index })) } },
      { path: /^\/v1\/agent\/health$/, methods: { GET: (c) => this.json(c.res, 200, { server: { ok: true, message: 'ok' } }) } },
      { path: /^\/v1\/agent\/members$/, methods: { GET: (c) => this.members(c) } },
      { path: /^\/v1\/system\/gc$/, methods: { PUT: (c) => this.gc(c), POST: (c) => this.gc(c) } },
      // Twin-only fault injection and fleet changes; no real Nomad has these.
      { path: /^\/v1\/twin\/wipe$/, methods: { POST: (c) => this.json(c.res, 200, s.wipe()) } },
      { path: /^\/v1\/twin\/node$/, methods: { POST: (c) => this.addNode(c) } },
      { path: /^\/v1\/twin\/node\/(.+)\/(down|up)$/, methods: { POST: (c) => this.nodeStatus(c) } },
      { path: /^\/v1\/twin\/state$/, methods: { GET: (c) => this.json(c.res, 200, { Index: s.index, Tables: s.tables, Counts: s.scheduler.counts(), RunningTasks: s.runningTasks, BlockedEvals: s.scheduler.blockedEvalCount }) } },
    ];
  }

  /**
   * The route table on the layer: Nomad's paths carry ids that may hold slashes (`/v1/job/a/b/allocations`), so
   * each family is one find-my-way wildcard (`/v1/job/*`) whose handler picks the route by its pattern on the
   * raw path, suffixes first, as Nomad's `JobSpecificRequest` does; fixed paths are static routes.
   */
  routes(): HttpRoutes {
    const mounts = new Map<string, Route[]>();
    for (const route of this.table) {
      const literal = route.path.source.replace(/^\^/, '').replace(/\$$/, '').split('(')[0]!.replace(/\\\//g, '/');
      const mount = route.path.source.includes('(') ? `${literal}*` : literal;
      mounts.set(mount, [...(mounts.get(mount) ?? []), route]);
    }
    const routes = new HttpRoutes();
    for (const [mount, family] of mounts) {
      const methods = [...new Set(family.flatMap((r) => Object.keys(r.methods) as HttpMethod[]))];
      routes.on(methods, mount, (request) => this.dispatch(family, request));
    }
    return routes;
  }

  /** Answers every blocking query in flight with what it has now (on shutdown). */
  flushWaiters(): void {
    for (const finish of [...this.waiters]) finish();
  }

  get waitingQueries(): number {
    return this.waiters.size;
  }

  private async dispatch(family: readonly Route[], request: HttpRequest): Promise<void> {
    const { req, res } = request;
    for (const route of family) {
      const m = route.path.exec(request.path);
      if (m === null) continue;
      let params: string[];
      try {
        params = m.slice(1).map((p) => decodeURIComponent(p ?? ''));
      } catch {
        throw new NomadHttpError(400, `Invalid URL path encoding: ${request.path}`);
      }
      // Nomad's handlers take their methods only: a HEAD is a 405 too, not the GET the layer would fall back to.
      const handler = route.methods[request.method as Method];
      if (handler === undefined) throw new NomadHttpError(405, ERR_INVALID_METHOD);
      await handler({ req, res, url: new URL(req.url ?? '/', 'http://127.0.0.1'), params, request });
      return;
    }
    // Nomad's root fallthrough: an unknown path is a bare 404.
    throw new NomadHttpError(404, '');
  }

  // -------------------------------------------------------------------------------------------
  // Responses

  private json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}, pretty = false): void {
    const text = pretty ? `${JSON.stringify(body, null, 4)}\n` : JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers }).end(text);
  }

  private queryHeaders(index: number): Record<string, string> {
    return { 'X-Nomad-Index': String(Math.max(1, index)), 'X-Nomad-KnownLeader': 'true', 'X-Nomad-LastContact': '0' };
  }

  /**
   * A read endpoint: answers at once, or (with `?index=N`) when the result's index passes N or the wait
   * runs out. `notFound` is the 404 text when the object is missing; lists always have a body.
   */
  private read<T>(c: RequestCtx, run: () => QueryResult<T>, notFound?: string): Promise<void> | void {
    c.req.resume();
    const q = parseBlockingQuery(c.url.searchParams);
    const pretty = c.url.searchParams.has('pretty') && c.url.searchParams.get('pretty') !== '0';
    const respond = (r: QueryResult<T>): void => {
      if (c.res.writableEnded || c.res.destroyed) return;
      const headers = this.queryHeaders(r.index);
      if (r.body === undefined) {
        c.res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', ...headers }).end(notFound ?? 'not found');
      } else this.json(c.res, 200, r.body, headers, pretty);
    };
    const first = run();
    if (q.minIndex === 0 || first.index > q.minIndex || this.state.isClosed) {
      respond(first);
      return;
    }
    const waitMs = blockingWaitMs(q.waitMs);
    const timeoutMs = waitMs + waitJitterMs(waitMs, this.opts.jitterRng.nextFloat());
    return new Promise<void>((resolve, reject) => {
      let done = false;
      const cleanup = (): void => {
        done = true;
        off();
        clearTimeout(timer);
        this.waiters.delete(finish);
      };
      const finish = (): void => {
        if (done) return;
        cleanup();
        respond(run());
        resolve();
      };
      const off = this.state.onCommit(() => {
        if (this.state.isClosed || run().index > q.minIndex) finish();
      });
      const timer = setTimeout(finish, timeoutMs);
      this.waiters.add(finish);
      // The client gave up (or the connection died): stop waiting for it; nobody is left to read an answer.
      c.res.on('close', () => {
        if (done) return;
        cleanup();
        reject(new NomadHttpError(499, 'the client closed the connection of a blocking query'));
      });
    });
  }

  /** Decodes a JSON body as Nomad's `decodeBody` does: an empty body and bad JSON are 400s. */
  private async jsonBody(c: RequestCtx): Promise<unknown> {
    const text = await c.request.text();
    if (text.trim() === '') throw new NomadHttpError(400, 'Request body is empty');
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw new NomadHttpError(400, `Request body is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private writeHeaders(index: number): Record<string, string> {
    return index > 0 ? { 'X-Nomad-Index': String(index) } : {};
  }

  // -------------------------------------------------------------------------------------------
  // Writes

  private async register(c: RequestCtx, pathJobId?: string): Promise<void> {
    const body = await this.jsonBody(c);
    const out = this.state.registerJob(body, pathJobId);
    this.json(c.res, 200, { ...out, Warnings: '', LastContact: 0, KnownLeader: false }, this.writeHeaders(out.Index));
  }

  private deregister(c: RequestCtx): void {
    c.req.resume();
    const purgeText = c.url.searchParams.get('purge');
    let purge = false;
    if (purgeText !== null && purgeText !== '') {
      const b = parseGoBool(purgeText);
      // Nomad's handler returns an uncoded error here, which its HTTP layer sends as a 500.
      if (b === undefined) throw new NomadHttpError(500, `Failed to parse value of "purge" (${purgeText}) as a bool: invalid syntax`);
      purge = b;
    }
    const out = this.state.stopJob(c.params[0]!, purge);
    this.json(c.res, 200, { ...out, LastContact: 0, KnownLeader: false }, this.writeHeaders(out.Index));
  }

  /**
   * Drain, as Nomad 0.9.3's handler reads it: `?enable=true|false` wins when present (0.9 turns `true` into a
   * force drain, a `DrainSpec` with a deadline of -1s, and `false` into `MarkEligible`); otherwise the body
   * (`{ DrainSpec: {...} | null, MarkEligible }`). In `legacy` compat (Nomad ≤ 0.7) only `?enable=` exists and
   * its drain stays on until disabled.
   */
  private async drain(c: RequestCtx): Promise<void> {
    const text = await c.request.text();
    const enableText = c.url.searchParams.get('enable') ?? '';
    const nodeId = c.params[0]!;
    if (this.opts.compat === 'legacy' || enableText !== '') {
      if (enableText === '') throw new NomadHttpError(400, 'missing enable value');
      const enable = parseGoBool(enableText);
      if (enable === undefined) throw new NomadHttpError(400, 'invalid enable value');
      const req: DrainRequest =
        this.opts.compat === 'legacy' ? { enable, form: 'legacy' } : enable ? { enable, form: 'spec', deadlineNs: FORCE_DRAIN_DEADLINE_NS } : { enable, form: 'spec', markEligible: true };
      const out = this.state.drain(nodeId, req);
      this.json(c.res, 200, out, this.writeHeaders(out.Index));
      return;
    }
    if (text.trim() === '') throw new NomadHttpError(400, 'EOF');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text) as unknown;
    } catch (err) {
      throw new NomadHttpError(400, `Request body is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (!isObject(parsed)) throw new NomadHttpError(400, 'Request body must be a JSON object');
    const spec = parsed.DrainSpec;
    if (spec !== null && spec !== undefined && !isObject(spec)) throw new NomadHttpError(400, 'DrainSpec must be an object or null');
    const deadline = isObject(spec) ? spec.Deadline : undefined;
    if (deadline !== undefined && (typeof deadline !== 'number' || !Number.isFinite(deadline))) {
      throw new NomadHttpError(400, 'DrainSpec.Deadline must be a number of nanoseconds');
    }
    const out = this.state.drain(nodeId, {
      enable: isObject(spec),
      form: 'spec',
      deadlineNs: typeof deadline === 'number' ? deadline : 0,
      ignoreSystemJobs: isObject(spec) && spec.IgnoreSystemJobs === true,
      markEligible: parsed.MarkEligible === true,
    });
    this.json(c.res, 200, out, this.writeHeaders(out.Index));
  }

  private async eligibility(c: RequestCtx): Promise<void> {
    const body = await this.jsonBody(c);
    if (!isObject(body)) throw new NomadHttpError(400, 'Request body must be a JSON object');
    // 0.9.3's handler decodes the whole RPC request from the body: the node is `NodeID` there, not the path's id.
    const nodeId = body.NodeID;
    if (nodeId === undefined || nodeId === null || nodeId === '') throw new NomadHttpError(500, 'missing node ID for setting scheduling eligibility');
    if (typeof nodeId !== 'string') throw new NomadHttpError(400, 'NodeID must be a string');
    const out = this.state.eligibility(nodeId, body.Eligibility);
    this.json(c.res, 200, out, this.writeHeaders(out.Index));
  }

  /** `/v1/search`: `{ Prefix, Context }` → matching ids per context (Nomad's prefix search). */
  private async search(c: RequestCtx): Promise<void> {
    const body = await this.jsonBody(c);
    if (!isObject(body)) throw new NomadHttpError(400, 'Request body must be a JSON object');
    const prefix = body.Prefix ?? '';
    const context = body.Context ?? '';
    if (typeof prefix !== 'string') throw new NomadHttpError(400, 'Prefix must be a string');
    if (context !== 'all' && !(SEARCH_CONTEXTS as readonly unknown[]).includes(context)) {
      // Nomad's RPC layer refuses a context it has no index for.
      throw new NomadHttpError(500, `context must be one of [${SEARCH_CONTEXTS.join(' ')}] or "all"; got ${JSON.stringify(context)}`);
    }
    const r = this.state.search(prefix, context as SearchContext | 'all');
    this.json(c.res, 200, { ...r.body, Index: r.index, LastContact: 0, KnownLeader: true }, this.queryHeaders(r.index));
  }

  /**
   * `/v1/client/fs/logs/:alloc`: a task's stdout or stderr as Nomad's stream of JSON frames (`{ Offset, Data
   * (base64), File, FileEvent }`), or raw text with `plain=true`; `follow=true` keeps streaming until the
   * allocation is terminal. `origin=end` with `offset=N` starts N bytes before the end (`nomad alloc logs -tail`).
   */
  private logs(c: RequestCtx): void {
    c.req.resume();
    const q = c.url.searchParams;
    const allocId = c.params[0]!;
    const task = q.get('task') ?? '';
    if (task === '') throw new NomadHttpError(500, 'must provide task name');
    const follow = boolParam(q, 'follow', 'follow');
    const plain = boolParam(q, 'plain', 'plain');
    const type = q.get('type');
    if (type !== 'stdout' && type !== 'stderr') throw new NomadHttpError(500, 'must provide log type (stdout/stderr)');
    const offsetText = q.get('offset') ?? '';
    if (offsetText !== '' && !/^-?\d+$/.test(offsetText)) throw new NomadHttpError(500, `error parsing offset: strconv.ParseInt: parsing ${JSON.stringify(offsetText)}: invalid syntax`);
    const offset = offsetText === '' ? 0 : Number(offsetText);
    const origin = q.get('origin') || 'start';
    if (origin !== 'start' && origin !== 'end') throw new NomadHttpError(500, 'origin must be start or end');
    const read = (): string | undefined => this.state.taskLog(allocId, task, type);
    const first = read();
    if (first === undefined) throw new NomadHttpError(404, `unknown allocation ID "${allocId}"`);
    const bytes = Buffer.byteLength(first);
    let pos = Math.max(0, Math.min(bytes, origin === 'end' ? bytes - offset : offset));
    const file = `alloc/logs/${task}.${type}.0`;
    c.res.writeHead(200, { 'Content-Type': plain ? 'text/plain; charset=utf-8' : 'application/json' });
    const send = (text: string): void => {
      const buf = Buffer.from(text);
      for (; pos < buf.length; ) {
        const chunk = buf.subarray(pos, pos + LOG_FRAME_BYTES);
        if (plain) c.res.write(chunk);
        else c.res.write(JSON.stringify({ Offset: pos, Data: chunk.toString('base64'), File: file, FileEvent: '' }));
        pos += chunk.length;
      }
    };
    send(first);
    if (!follow) {
      c.res.end();
      return;
    }
    const started = Date.now();
    const timer = setInterval(() => {
      const text = read();
      if (text === undefined || c.res.destroyed) return stopFollowing();
      send(text);
      const a = this.state.scheduler.alloc(allocId);
      if (a === undefined || ['complete', 'failed', 'lost'].includes(a.clientStatus) || Date.now() - started > LOG_FOLLOW_MAX_MS) stopFollowing();
    }, LOG_FOLLOW_POLL_MS);
    const stopFollowing = (): void => {
      clearInterval(timer);
      if (!c.res.writableEnded) c.res.end();
    };
    c.res.on('close', () => clearInterval(timer));
  }

  /**
   * `/v1/client/stats?node_id=`: a simulated client's host, as its allocations use it (memory in use is what
   * they were given; the twin measures no CPU ticks). Uptime counts from the node's registration.
   */
  private hostStats(c: RequestCtx): void {
    c.req.resume();
    const nodeId = c.url.searchParams.get('node_id') ?? '';
    const n = this.state.scheduler.node(nodeId);
    if (n === undefined) throw new NomadHttpError(404, 'Unknown node');
    const mib = 1024 * 1024;
    const total = n.totalMemoryMb * mib;
    const used = n.usedMemoryMb * mib;
    const now = this.state.settings.clock.nowMs;
    const registeredMs = this.state.nodeRegisteredAtMs(nodeId) ?? now;
    const diskBytes = DISK_MB * mib;
    this.json(c.res, 200, {
      Memory: { Total: total, Available: total - used, Used: used, Free: total - used },
      CPU: [],
      DiskStats: [{ Device: '/dev/xvda1', Mountpoint: '/', Size: diskBytes, Used: 0, Available: diskBytes, UsedPercent: 0, InodesUsedPercent: 0 }],
      AllocDirStats: null,
      DeviceStats: [],
      Uptime: Math.max(0, Math.floor((now - registeredMs) / 1000)),
      Timestamp: now * 1e6,
      CPUTicksConsumed: 0,
    });
  }

  /** `/v1/client/allocation/:id/stats`: the twin measures no real usage, so every figure is zero. */
  private allocStats(c: RequestCtx): void {
    c.req.resume();
    const a = this.state.allocation(c.params[0]!).body;
    if (a === undefined) throw new NomadHttpError(404, `unknown allocation ID "${c.params[0]!}"`);
    const usage = { MemoryStats: { RSS: 0, Cache: 0, Swap: 0, Usage: 0, MaxUsage: 0, KernelUsage: 0, KernelMaxUsage: 0, Measured: null }, CpuStats: { SystemMode: 0, UserMode: 0, TotalTicks: 0, ThrottledPeriods: 0, ThrottledTime: 0, Percent: 0, Measured: null }, DeviceStats: null };
    const ts = this.state.settings.clock.nowMs * 1e6;
    const tasks: Record<string, unknown> = {};
    for (const name of Object.keys(a.TaskStates)) tasks[name] = { ResourceUsage: usage, Timestamp: ts, Pids: null };
    this.json(c.res, 200, { ResourceUsage: usage, Tasks: tasks, Timestamp: ts });
  }

  /** `/v1/operator/raft/configuration`: one voting server, the leader (a dev agent's shape). */
  private raftConfiguration(): Record<string, unknown> {
    const id = this.opts.identity;
    return { Servers: [{ ID: id.rpcAddr, Node: `${id.nodeName}.${id.region}`, Address: id.rpcAddr, Leader: true, Voter: true, RaftProtocol: '2' }], Index: this.state.index };
  }

  private gc(c: RequestCtx): void {
    c.req.resume();
    this.state.gc();
    c.res.writeHead(200).end();
  }

  private members(c: RequestCtx): void {
    const self = toAgentSelf(this.opts.identity, { commitIndex: this.state.index });
    const id = this.opts.identity;
    this.json(c.res, 200, { ServerName: id.nodeName, ServerRegion: id.region, ServerDC: id.datacenter, Members: [self.member] });
  }

  private async addNode(c: RequestCtx): Promise<void> {
    const body = await this.jsonBody(c);
    if (!isObject(body)) throw new NomadHttpError(400, 'Request body must be a JSON object');
    const { Name, Cpus, MemoryGb, Datacenter, NodeClass } = body;
    if (typeof Name !== 'string' || Name === '') throw new NomadHttpError(400, 'Name must be a non-empty string');
    if (typeof Cpus !== 'number' || typeof MemoryGb !== 'number') throw new NomadHttpError(400, 'Cpus and MemoryGb must be numbers');
    if (Datacenter !== undefined && typeof Datacenter !== 'string') throw new NomadHttpError(400, 'Datacenter must be a string');
    if (NodeClass !== undefined && typeof NodeClass !== 'string') throw new NomadHttpError(400, 'NodeClass must be a string');
    const nodeId = this.state.addClient({
      name: Name,
      cpus: Cpus,
      memoryGb: MemoryGb,
      ...(Datacenter === undefined ? {} : { datacenter: Datacenter }),
      ...(NodeClass === undefined ? {} : { nodeClass: NodeClass }),
    });
    this.json(c.res, 200, { NodeID: nodeId, Index: this.state.index }, this.writeHeaders(this.state.index));
  }

  private nodeStatus(c: RequestCtx): void {
    c.req.resume();
    const status: NodeStatus = c.params[1] === 'down' ? 'down' : 'ready';
    const out = this.state.setNodeStatus(c.params[0]!, status);
    this.json(c.res, 200, out, this.writeHeaders(out.Index));
  }
}
