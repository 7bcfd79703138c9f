/**
 * A small typed Nomad HTTP client (fetch) for the twin's schedulerer: it talks to the twin's Nomad API or to a
 * real Nomad at `NOMAD_ADDR` alike. Only what the schedulerer and the harness need; errors carry the status
 * and Nomad's plain-text message.
 */
import type {
  AllocListStubJson,
  AllocationJson,
  ApiJob,
  EvaluationJson,
  JobJson,
  JobListStubJson,
  JobSummaryJson,
  NodeJson,
  NodeListStubJson,
  NodeUpdateResponseJson,
} from './shapes.ts';

/** Nomad's default address, as its CLI assumes when `NOMAD_ADDR` is unset. */
export const DEFAULT_NOMAD_ADDR = 'http://127.0.0.1:4646';
/** Per-request timeout for non-blocking calls. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
/** Extra time a blocking call waits beyond its `wait` (Nomad adds up to wait/16 of jitter). */
const BLOCKING_GRACE_MS = 5_000;

/** How long a blocking call of `wait` ms may take: the wait, Nomad's jitter and the grace (whole ms: a timer's). */
const blockingTimeoutMs = (wait: number) => Math.ceil(wait + wait / 16) + BLOCKING_GRACE_MS;

/** A non-2xx answer from Nomad: the method, path, status and the body Nomad sent (plain text). */
export class NomadApiError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly body: string,
  ) {
    super(`${method} ${path}: ${status} ${body || '(empty body)'}`);
    this.name = 'NomadApiError';
  }
}

export interface NomadClientOptions {
  /** Base URL; default `process.env.NOMAD_ADDR`, else http://127.0.0.1:4646. */
  address?: string;
  /** ACL token sent as `X-Nomad-Token`; default `process.env.NOMAD_TOKEN`. */
  token?: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

/** A response's blocking-query meta data. */
export interface QueryMeta {
  index: number;
  knownLeader: boolean;
  lastContactMs: number;
}

export interface JobRegisterResponse {
  EvalID: string;
  EvalCreateIndex: number;
  JobModifyIndex: number;
  Index: number;
}

/** What a job registration sends: the fields Nomad requires plus any others it accepts. */
export type JobRegistrationInput = Partial<ApiJob> & Pick<ApiJob, 'ID' | 'TaskGroups'>;

/** Which drain form the server took. */
export type DrainForm = 'drain-spec' | 'legacy';

export class NomadClient {
  readonly address: string;
  private readonly token: string | undefined;
  private readonly fetchFn: typeof fetch;
  private readonly timeoutMs: number;

  constructor(opts: NomadClientOptions = {}) {
    this.address = (opts.address ?? process.env.NOMAD_ADDR ?? DEFAULT_NOMAD_ADDR).replace(/\/+$/, '');
    this.token = opts.token ?? process.env.NOMAD_TOKEN;
    this.fetchFn = opts.fetch ?? fetch;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  }

  /** One request; returns the parsed JSON (or undefined for an empty body) and the query meta data. */
  async request<T>(method: string, path: string, opts: { body?: unknown; timeoutMs?: number } = {}): Promise<{ body: T; meta: QueryMeta }> {
    const headers: Record<string, string> = {};
    if (this.token !== undefined && this.token !== '') headers['X-Nomad-Token'] = this.token;
    let payload: string | undefined;
    if (opts.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      payload = JSON.stringify(opts.body);
    }
    const res = await this.fetchFn(`${this.address}${path}`, {
      method,
      headers,
      ...(payload === undefined ? {} : { body: payload }),
      signal: AbortSignal.timeout(opts.timeoutMs ?? this.timeoutMs),
    });
    const text = await res.text();
    if (!res.ok) throw new NomadApiError(method, path, res.status, text);
    const meta: QueryMeta = {
      index: Number(res.headers.get('X-Nomad-Index') ?? 0),
      knownLeader: res.headers.get('X-Nomad-KnownLeader') === 'true',
      lastContactMs: Number(res.headers.get('X-Nomad-LastContact') ?? 0),
    };
    return { body: (text === '' ? undefined : JSON.parse(text)) as T, meta };
  }

  private async get<T>(path: string): Promise<T> {
    return (await this.request<T>('GET', path)).body;
  }

  /** GET that maps 404 to undefined (Nomad's "job not found", "node not found", ...). */
  private async find<T>(path: string): Promise<T | undefined> {
    try {
      return await this.get<T>(path);
    } catch (err) {
      if (err instanceof NomadApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  /** Registers (or updates) a job: `PUT /v1/jobs`. */
  async registerJob(job: JobRegistrationInput): Promise<JobRegisterResponse> {
    return (await this.request<JobRegisterResponse>('PUT', '/v1/jobs', { body: { Job: job } })).body;
  }

  /** The job, or undefined when Nomad does not know it. */
  job(jobId: string): Promise<JobJson | undefined> {
    return this.find<JobJson>(`/v1/job/${encodeURIComponent(jobId)}`);
  }

  /** Job stubs; `prefix` keeps the IDs that start with it (`?prefix=`). */
  jobs(prefix = ''): Promise<JobListStubJson[]> {
    return this.get<JobListStubJson[]>(prefix === '' ? '/v1/jobs' : `/v1/jobs?prefix=${encodeURIComponent(prefix)}`);
  }

  jobAllocations(jobId: string): Promise<AllocListStubJson[]> {
    return this.get<AllocListStubJson[]>(`/v1/job/${encodeURIComponent(jobId)}/allocations`);
  }

  jobEvaluations(jobId: string): Promise<EvaluationJson[]> {
    return this.get<EvaluationJson[]>(`/v1/job/${encodeURIComponent(jobId)}/evaluations`);
  }

  jobSummary(jobId: string): Promise<JobSummaryJson | undefined> {
    return this.find<JobSummaryJson>(`/v1/job/${encodeURIComponent(jobId)}/summary`);
  }

  /** Stops a job (`nomad stop`); with `purge` it is removed at once. */
  async stopJob(jobId: string, opts: { purge?: boolean } = {}): Promise<{ EvalID: string; Index: number }> {
    const q = opts.purge === true ? '?purge=true' : '';
    return (await this.request<{ EvalID: string; Index: number }>('DELETE', `/v1/job/${encodeURIComponent(jobId)}${q}`)).body;
  }

  allocation(allocId: string): Promise<AllocationJson | undefined> {
    return this.find<AllocationJson>(`/v1/allocation/${encodeURIComponent(allocId)}`);
  }

  evaluation(evalId: string): Promise<EvaluationJson | undefined> {
    return this.find<EvaluationJson>(`/v1/evaluation/${encodeURIComponent(evalId)}`);
  }

  nodes(): Promise<NodeListStubJson[]> {
    return this.get<NodeListStubJson[]>('/v1/nodes');
  }

  node(nodeId: string): Promise<NodeJson | undefined> {
    return this.find<NodeJson>(`/v1/node/${encodeURIComponent(nodeId)}`);
  }

  /**
   * Drains a node or ends its drain. Sends the `DrainSpec` form (Nomad ≥ 0.8) and falls back to
   * `?enable=` (Nomad ≤ 0.7) when the server answers 400 or 404, as an old server does to the new form
   * and a new server does to neither. Disabling marks the node eligible again.
   */
  async drain(nodeId: string, enable: boolean, opts: { deadlineMs?: number } = {}): Promise<{ form: DrainForm; index: number }> {
    const path = `/v1/node/${encodeURIComponent(nodeId)}/drain`;
    const body = enable
      ? { DrainSpec: { Deadline: Math.round((opts.deadlineMs ?? 3_600_000) * 1e6), IgnoreSystemJobs: false }, MarkEligible: false }
      : { DrainSpec: null, MarkEligible: true };
    try {
      const r = await this.request<NodeUpdateResponseJson>('POST', path, { body });
      return { form: 'drain-spec', index: r.body?.Index ?? r.meta.index };
    } catch (err) {
      if (!(err instanceof NomadApiError) || (err.status !== 400 && err.status !== 404)) throw err;
    }
    const r = await this.request<NodeUpdateResponseJson | undefined>('PUT', `${path}?enable=${enable}`);
    return { form: 'legacy', index: r.body?.Index ?? r.meta.index };
  }

  /** Sets scheduling eligibility (Nomad ≥ 0.8). */
  async eligibility(nodeId: string, eligible: boolean): Promise<NodeUpdateResponseJson> {
    const r = await this.request<NodeUpdateResponseJson>('POST', `/v1/node/${encodeURIComponent(nodeId)}/eligibility`, {
      body: { NodeID: nodeId, Eligibility: eligible ? 'eligible' : 'ineligible' },
    });
    return r.body;
  }

  /** The leader's RPC address (`"127.0.0.1:4647"`); empty when there is none. */
  leader(): Promise<string> {
    return this.get<string>('/v1/status/leader');
  }

  /**
   * A blocking list of jobs: returns when the jobs' index passes `index` or after about `waitMs`
   * (Nomad cuts waits at 5 minutes). `index` is the next value to pass back.
   */
  async blockingJobs(index: number, waitMs: number): Promise<{ index: number; jobs: JobListStubJson[] }> {
    const wait = Math.max(1, Math.round(waitMs));
    const r = await this.request<JobListStubJson[]>('GET', `/v1/jobs?index=${index}&wait=${wait}ms`, {
      timeoutMs: blockingTimeoutMs(wait),
    });
    return { index: r.meta.index, jobs: r.body };
  }

  /** A blocking list of nodes, as `blockingJobs`: returns when a node changes (status, drain, eligibility). */
  async blockingNodes(index: number, waitMs: number): Promise<{ index: number; nodes: NodeListStubJson[] }> {
    const wait = Math.max(1, Math.round(waitMs));
    const r = await this.request<NodeListStubJson[]>('GET', `/v1/nodes?index=${index}&wait=${wait}ms`, {
      timeoutMs: blockingTimeoutMs(wait),
    });
    return { index: r.meta.index, nodes: r.body };
  }

  nodeAllocations(nodeId: string): Promise<AllocListStubJson[]> {
    return this.get<AllocListStubJson[]>(`/v1/node/${encodeURIComponent(nodeId)}/allocations`);
  }
}
