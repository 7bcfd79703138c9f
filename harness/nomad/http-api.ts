/**
 * The HTTP face of the twin's Nomad server: Nomad's routes, methods, query options, headers and error
 * texts, over `node:http`, in front of a `NomadApiState`.
 *
 * Conventions follow Nomad's `command/agent/http.go` and `*_endpoint.go`: JSON bodies, errors as plain text
 * with the status Nomad uses (`405 Invalid method`, `404 job not found`, `400 Invalid wait time`), read
 * endpoints answer with `X-Nomad-Index`, `X-Nomad-KnownLeader` and `X-Nomad-LastContact`, and block with
 * `?index=N&wait=D` until the result's index exceeds N or the wait (at most 5 minutes, plus up to 1/16
 * jitter) runs out. Twin-only endpoints live under `/v1/twin/`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Rng } from '../../sim/engine/rng.ts';
import type { NodeStatus } from '../../sim/models/nomad/index.ts';
import type { NomadApiState, QueryResult } from './api-state.ts';
import { DurationSyntaxError, blockingWaitMs, parseGoDuration, waitJitterMs } from './duration.ts';
import { NomadHttpError } from './job-spec.ts';
import { toAgentSelf, type AgentIdentity } from './shapes.ts';

/** Which drain and eligibility forms the API accepts: both (default), or only Nomad ≤ 0.7's `?enable=`. */
export type ApiCompat = 'both' | 'legacy';

/** Nomad's text for a method a route does not take. */
export const ERR_INVALID_METHOD = 'Invalid method';
/** Bodies larger than this are refused (a job spec is a few kB). */
export const MAX_BODY_BYTES = 8 * 1024 * 1024;

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

type Method = 'GET' | 'PUT' | 'POST' | 'DELETE';

interface RequestCtx {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** Path parameters captured by the route, URL-decoded. */
  params: string[];
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

/** Nomad's HTTP API over a `NomadApiState`. `handle` is the `node:http` request listener. */
export class NomadHttpApi {
  private readonly routes: readonly Route[];
  /** Blocking queries in flight: each finishes (answers with what it has) when called. */
  private readonly waiters = new Set<() => void>();

  constructor(
    private readonly state: NomadApiState,
    private readonly opts: NomadHttpApiOptions,
  ) {
    const s = state;
    // Suffix routes come before the plain object routes, as Nomad's `JobSpecificRequest` checks suffixes first.
    this.routes = [
      { path: /^\/v1\/jobs$/, methods: { GET: (c) => this.read(c, () => s.listJobs()), PUT: (c) => this.register(c), POST: (c) => this.register(c) } },
      { path: /^\/v1\/job\/(.+)\/allocations$/, methods: { GET: (c) => this.read(c, () => s.jobAllocations(c.params[0]!)) } },
      { path: /^\/v1\/job\/(.+)\/evaluations$/, methods: { GET: (c) => this.read(c, () => s.jobEvaluations(c.params[0]!)) } },
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
      { path: /^\/v1\/allocations$/, methods: { GET: (c) => this.read(c, () => s.allocations()) } },
      { path: /^\/v1\/allocation\/(.+)$/, methods: { GET: (c) => this.read(c, () => s.allocation(c.params[0]!), 'alloc not found') } },
      { path: /^\/v1\/evaluations$/, methods: { GET: (c) => this.read(c, () => s.evaluations()) } },
      { path: /^\/v1\/evaluation\/(.+)\/allocations$/, methods: { GET: (c) => this.read(c, () => s.evaluationAllocations(c.params[0]!)) } },
      { path: /^\/v1\/evaluation\/(.+)$/, methods: { GET: (c) => this.read(c, () => s.evaluation(c.params[0]!), 'eval not found') } },
      { path: /^\/v1\/nodes$/, methods: { GET: (c) => this.read(c, () => s.nodes()) } },
      { path: /^\/v1\/node\/(.+)\/allocations$/, methods: { GET: (c) => this.read(c, () => s.nodeAllocations(c.params[0]!)) } },
      { path: /^\/v1\/node\/(.+)\/drain$/, methods: { PUT: (c) => this.drain(c), POST: (c) => this.drain(c) } },
      ...(opts.compat === 'both'
        ? [{ path: /^\/v1\/node\/(.+)\/eligibility$/, methods: { PUT: (c: RequestCtx) => this.eligibility(c), POST: (c: RequestCtx) => this.eligibility(c) } }]
        : []),
      { path: /^\/v1\/node\/(.+)$/, methods: { GET: (c) => this.read(c, () => s.node(c.params[0]!), 'node not found') } },
      { path: /^\/v1\/status\/leader$/, methods: { GET: (c) => this.json(c.res, 200, this.opts.identity.rpcAddr) } },
      { path: /^\/v1\/status\/peers$/, methods: { GET: (c) => this.json(c.res, 200, [this.opts.identity.rpcAddr]) } },
      { path: /^\/v1\/agent\/self$/, methods: { GET: (c) => this.json(c.res, 200, toAgentSelf(this.opts.identity, { numNodes: s.nodeIds().length, commitIndex: s.index })) } },
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

  /** The `node:http` request listener. */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    this.dispatch(req, res).catch((err: unknown) => this.fail(res, err));
  };

  /** Answers every blocking query in flight with what it has now (on shutdown). */
  flushWaiters(): void {
    for (const finish of [...this.waiters]) finish();
  }

  get waitingQueries(): number {
    return this.waiters.size;
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    for (const route of this.routes) {
      const m = route.path.exec(url.pathname);
      if (m === null) continue;
      let params: string[];
      try {
        params = m.slice(1).map((p) => decodeURIComponent(p ?? ''));
      } catch {
        throw new NomadHttpError(400, `Invalid URL path encoding: ${url.pathname}`);
      }
      const handler = route.methods[(req.method ?? 'GET') as Method];
      if (handler === undefined) throw new NomadHttpError(405, ERR_INVALID_METHOD);
      await handler({ req, res, url, params });
      return;
    }
    // Nomad's root fallthrough: an unknown path is a bare 404.
    req.resume();
    res.writeHead(404).end();
  }

  // -------------------------------------------------------------------------------------------
  // Responses

  private fail(res: ServerResponse, err: unknown): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const status = err instanceof NomadHttpError ? err.status : 500;
    const message = err instanceof Error ? err.message : String(err);
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' }).end(message);
  }

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
  private read<T>(c: RequestCtx, run: () => QueryResult<T>, notFound?: string): void {
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
    };
    const off = this.state.onCommit(() => {
      if (this.state.isClosed || run().index > q.minIndex) finish();
    });
    const timer = setTimeout(finish, timeoutMs);
    this.waiters.add(finish);
    // The client gave up (or the connection died): stop waiting for it.
    c.res.on('close', () => {
      if (!done) cleanup();
    });
  }

  private async body(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(chunk);
    }
    if (tooLarge) throw new NomadHttpError(413, `Request body is larger than ${MAX_BODY_BYTES} bytes`);
    return Buffer.concat(chunks).toString('utf8');
  }

  /** Decodes a JSON body as Nomad's `decodeBody` does: an empty body and bad JSON are 400s. */
  private async jsonBody(req: IncomingMessage): Promise<unknown> {
    const text = await this.body(req);
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
    const body = await this.jsonBody(c.req);
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
   * Drain in both forms: a `DrainSpec` body (Nomad ≥ 0.8: `{ DrainSpec: {...} | null, MarkEligible }`) or
   * `?enable=true|false` with no body (Nomad ≤ 0.7). In `legacy` compat only the second exists.
   */
  private async drain(c: RequestCtx): Promise<void> {
    const text = await this.body(c.req);
    const enableText = c.url.searchParams.get('enable');
    const nodeId = c.params[0]!;
    let parsed: unknown;
    if (text.trim() !== '') {
      try {
        parsed = JSON.parse(text) as unknown;
      } catch (err) {
        throw new NomadHttpError(400, `Request body is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    const hasSpec = isObject(parsed) && 'DrainSpec' in parsed;
    // A body decides the form, as on Nomad >= 0.8 (`{}` disables a drain); `?enable=` wins over a body without a DrainSpec.
    if (this.opts.compat === 'legacy' || parsed === undefined || (enableText !== null && !hasSpec)) {
      if (enableText === null || enableText === '') {
        throw new NomadHttpError(
          400,
          this.opts.compat === 'legacy'
            ? 'missing enable value'
            : 'Request body is empty: send { "DrainSpec": { "Deadline": <ns> } | null, "MarkEligible": <bool> }, or ?enable=true|false as Nomad <= 0.7 did',
        );
      }
      const enable = parseGoBool(enableText);
      if (enable === undefined) throw new NomadHttpError(400, 'invalid enable value');
      const out = this.state.drain(nodeId, { enable, form: 'legacy' });
      this.json(c.res, 200, out, this.writeHeaders(out.Index));
      return;
    }
    if (!isObject(parsed)) throw new NomadHttpError(400, 'Request body must be a JSON object');
    const body = parsed;
    const spec = body.DrainSpec;
    if (spec !== null && spec !== undefined && !isObject(spec)) throw new NomadHttpError(400, 'DrainSpec must be an object or null');
    const deadline = isObject(spec) ? spec.Deadline : undefined;
    if (deadline !== undefined && (typeof deadline !== 'number' || !Number.isFinite(deadline))) {
      throw new NomadHttpError(400, 'DrainSpec.Deadline must be a number of nanoseconds');
    }
    const meta = body.Meta;
    if (meta !== undefined && meta !== null && (!isObject(meta) || Object.values(meta).some((v) => typeof v !== 'string'))) {
      throw new NomadHttpError(400, 'Meta must be an object of strings');
    }
    const out = this.state.drain(nodeId, {
      enable: isObject(spec),
      form: 'spec',
      deadlineNs: typeof deadline === 'number' ? deadline : 0,
      ignoreSystemJobs: isObject(spec) && spec.IgnoreSystemJobs === true,
      markEligible: body.MarkEligible === true,
      meta: (meta as Record<string, string> | undefined) ?? null,
    });
    this.json(c.res, 200, out, this.writeHeaders(out.Index));
  }

  private async eligibility(c: RequestCtx): Promise<void> {
    const body = await this.jsonBody(c.req);
    if (!isObject(body)) throw new NomadHttpError(400, 'Request body must be a JSON object');
    const out = this.state.eligibility(c.params[0]!, body.Eligibility);
    this.json(c.res, 200, out, this.writeHeaders(out.Index));
  }

  private gc(c: RequestCtx): void {
    c.req.resume();
    this.state.gc();
    c.res.writeHead(200).end();
  }

  private members(c: RequestCtx): void {
    const self = toAgentSelf(this.opts.identity, { numNodes: 0, commitIndex: this.state.index });
    const id = this.opts.identity;
    this.json(c.res, 200, { ServerName: id.nodeName, ServerRegion: id.region, ServerDC: id.datacenter, Members: [self.member] });
  }

  private async addNode(c: RequestCtx): Promise<void> {
    const body = await this.jsonBody(c.req);
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
