import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError, HttpListenError, HttpRoutes, LAYER_ERROR_CODES, listenHttp, sendJson, sendText, type ErrorAnswer, type HttpMethod, type HttpRequest, type ListeningHttp } from '../http/index.ts';
import { Rng } from '../../sim/engine/rng.ts';
import type { StartedComponent } from '../providers/types.ts';
import { ProviderError } from '../providers/types.ts';
import { NULL_SHA } from './git-objects.ts';
import * as rep from './representations.ts';
import {
  defaultSeedData,
  fullName,
  GithubState,
  STATUS_STATES,
  type GithubCommit,
  type GithubDelivery,
  type GithubHook,
  type GithubRepo,
  type GithubSeedData,
  type GithubToken,
  type GithubUser,
  type StatusState,
} from './state.ts';
import { isSubscribed, WebhookSender, type RedeliveryPolicy } from './webhook-sender.ts';

/**
 * The twin's fake GitHub Enterprise: the REST API under `/api/v3` (users, orgs, repos, contents, commits,
 * statuses, hooks and their deliveries, rate limit, meta), the OAuth web flow under `/login/oauth`, and signed
 * push webhooks with a delivery log. Built like the other providers: a builder, then a started handle.
 *
 * ```ts
 * await using ghe = await new FakeGithub().withPort(0).withSeedData(defaultSeedData()).start();
 * const octokit = new Octokit({ baseUrl: ghe.apiUrl, auth: ghe.tokenFor('GERey') });
 * ```
 */

/** Rate limits per identity and window (GHE can switch them on; GitHub's defaults). */
export interface RateLimitOptions {
  /** Requests per window for a token. */
  limit: number;
  /** Requests per window for an anonymous caller (per remote address). */
  unauthenticatedLimit: number;
  windowMs: number;
}

/** Everything the builder can set, with its defaults applied once in `start()`. */
interface FakeGithubSettings {
  readonly host: string;
  readonly port: number;
  readonly seedData: GithubSeedData;
  readonly seed: number;
  readonly enterpriseVersion: string;
  readonly redeliveryPolicy: RedeliveryPolicy | null;
  readonly deliveryTimeoutMs: number;
  readonly rateLimit: RateLimitOptions;
  readonly now: () => Date;
  readonly maxBodyBytes: number;
}

/** GHE 2.21 was current when CircleCI Server 2.19 shipped. */
export const DEFAULT_ENTERPRISE_VERSION = '2.21.0';
/** GitHub gives a webhook receiver ten seconds to answer. */
export const DEFAULT_DELIVERY_TIMEOUT_MS = 10_000;
const DEFAULT_RATE_LIMIT: RateLimitOptions = { limit: 5_000, unauthenticatedLimit: 60, windowMs: 3_600_000 };
const MAX_PER_PAGE = 100;
const DEFAULT_PER_PAGE = 30;

/** What a push through the handle did. */
export interface PushResult {
  readonly commit: GithubCommit;
  /** The branch head before the push (40 zeros for a new branch). */
  readonly before: string;
  /** One attempt per subscribed hook, already finished. */
  readonly deliveries: readonly GithubDelivery[];
}

/** A push made through the handle: files written over the branch head, then the `push` event delivered. */
export interface PushInput {
  /** Path → new content (UTF-8). */
  files?: Readonly<Record<string, string>>;
  /** Paths to delete. */
  remove?: readonly string[];
  message: string;
  /** Default: the repository's default branch. */
  branch?: string;
  /** The user who pushes (and authors the commit); default the owner, or the org's first member. */
  pusher?: string;
}

/** The builder of a fake GitHub Enterprise. */
export class FakeGithub {
  private host = '127.0.0.1';
  private port = 0;
  private seedData: GithubSeedData | undefined;
  private seed = 1;
  private enterpriseVersion = DEFAULT_ENTERPRISE_VERSION;
  private redeliveryPolicy: RedeliveryPolicy | null = null;
  private deliveryTimeoutMs = DEFAULT_DELIVERY_TIMEOUT_MS;
  private rateLimit: RateLimitOptions = DEFAULT_RATE_LIMIT;
  private now: () => Date = () => new Date();

  /** Port to listen on; 0 (the default) lets the OS pick a free one. */
  withPort(port: number): this {
    if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new RangeError(`port must be 0..65535, got ${port}`);
    this.port = port;
    return this;
  }

  /** Address to listen on; default 127.0.0.1. */
  withHost(host: string): this {
    this.host = host;
    return this;
  }

  /** Users, orgs, repos, hooks and OAuth apps to start with; default `defaultSeedData()`. */
  withSeedData(data: GithubSeedData): this {
    this.seedData = data;
    return this;
  }

  /** Root seed of everything the fake invents (tokens, codes, GUIDs, redelivery draws); default 1. */
  withSeed(seed: number): this {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
    this.seed = seed;
    return this;
  }

  /** The `X-GitHub-Enterprise-Version` and `/meta` `installed_version`. */
  withEnterpriseVersion(version: string): this {
    this.enterpriseVersion = version;
    return this;
  }

  /** Automatic redelivery of failed deliveries (once, seeded); default none, as the seeds promise nothing. */
  withRedeliveryPolicy(policy: RedeliveryPolicy | null): this {
    if (policy !== null) {
      if (!(policy.probability >= 0 && policy.probability <= 1)) throw new RangeError(`probability must be in [0, 1], got ${policy.probability}`);
      if (!(policy.afterMs >= 0)) throw new RangeError(`afterMs must be >= 0, got ${policy.afterMs}`);
    }
    this.redeliveryPolicy = policy;
    return this;
  }

  /** How long a receiver has to answer; default 10 s, as on GitHub. */
  withDeliveryTimeoutMs(ms: number): this {
    if (!(ms > 0)) throw new RangeError(`delivery timeout must be > 0, got ${ms}`);
    this.deliveryTimeoutMs = ms;
    return this;
  }

  /** Rate limits; default 5000 per hour per token and 60 per hour per anonymous address. */
  withRateLimit(limits: Partial<RateLimitOptions>): this {
    this.rateLimit = { ...this.rateLimit, ...limits };
    return this;
  }

  /** The wall clock (timestamps of statuses and deliveries, code expiry, rate-limit windows). */
  withClock(now: () => Date): this {
    this.now = now;
    return this;
  }

  /** Listens, and resolves with the started handle once the port is open. */
  async start(): Promise<StartedFakeGithub> {
    const settings: FakeGithubSettings = {
      host: this.host,
      port: this.port,
      seedData: this.seedData ?? defaultSeedData(),
      seed: this.seed,
      enterpriseVersion: this.enterpriseVersion,
      redeliveryPolicy: this.redeliveryPolicy,
      deliveryTimeoutMs: this.deliveryTimeoutMs,
      rateLimit: this.rateLimit,
      now: this.now,
      maxBodyBytes: 1_048_576,
    };
    const started = new StartedFakeGithub(settings);
    await started.listen();
    return started;
  }
}

// ---------------------------------------------------------------------------------------------------------------

/** GitHub's error: the message, and any fields GitHub adds beside it (`errors` of a 422). */
function githubError(status: number, message: string, details: Record<string, unknown> = {}): HttpError {
  return HttpError.of(status, message, { details });
}

interface Ctx {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly url: URL;
  readonly params: Record<string, string>;
  readonly auth: { user: GithubUser; token: GithubToken } | undefined;
  body(): Promise<unknown>;
}

type Handler = (ctx: Ctx) => Promise<unknown> | unknown;

/** Every method a GitHub client may send: an unknown route is GitHub's 404, whatever the method. */
const ANY_METHOD: readonly HttpMethod[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/** A JSON answer with a status other than 200, or with no body. */
class Reply {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {}
}

/** The started fake: where it listens, its state, and the operations tests and the live harness need. */
export class StartedFakeGithub implements StartedComponent {
  readonly name = 'github';
  readonly backend = 'embedded' as const;
  readonly pid = undefined;
  readonly dataDir = undefined;
  readonly state: GithubState;

  private server: ListeningHttp | undefined;
  private readonly sender: WebhookSender;
  private readonly routes = new HttpRoutes();
  private readonly rateWindows = new Map<string, { startMs: number; used: number }>();
  private requestCount = 0;
  private stopped: Promise<void> | undefined;

  /** @internal Use `new FakeGithub()...start()`. */
  constructor(private readonly settings: FakeGithubSettings) {
    this.state = GithubState.fromSeed(settings.seedData, { seed: settings.seed, now: settings.now });
    const root = new Rng(settings.seed);
    this.sender = new WebhookSender(
      this.state,
      {
        timeoutMs: settings.deliveryTimeoutMs,
        redeliveryPolicy: settings.redeliveryPolicy,
        enterpriseVersion: settings.enterpriseVersion,
        enterpriseHost: () => `${this.host}:${this.port}`,
        maxResponseBytes: 64 * 1024,
      },
      root.fork('github/redelivery'),
    );
    this.defineRoutes();
    // Whatever no route takes is GitHub's 404, after the headers and the rate limit every request gets.
    this.routes.on(ANY_METHOD, '/*', (r) => this.handle(r, () => {
      throw githubError(404, 'Not Found');
    }));
  }

  /** @internal */
  async listen(): Promise<void> {
    try {
      this.server = await listenHttp({
        name: 'fake GitHub Enterprise',
        host: this.settings.host,
        port: this.settings.port,
        routes: this.routes,
        maxBodyBytes: this.settings.maxBodyBytes,
        errors: (error, request) => this.errorAnswer(error, request.path),
      });
    } catch (e) {
      if (e instanceof HttpListenError) throw new ProviderError('START_FAILED', e.message, 'pick another port, or 0 for a free one');
      throw e;
    }
  }

  get host(): string {
    return this.settings.host;
  }

  get port(): number {
    return this.server?.port ?? 0;
  }

  /** The web root (`http://127.0.0.1:P`): OAuth pages live here. */
  get url(): string {
    const host = this.host.includes(':') ? `[${this.host}]` : this.host;
    return `http://${host}:${this.port}`;
  }

  /** The REST API root (`…/api/v3`), what Octokit takes as `baseUrl`. */
  get apiUrl(): string {
    return `${this.url}/api/v3`;
  }

  get backendDetail(): string {
    return `the twin's fake GitHub Enterprise ${this.settings.enterpriseVersion} (in-process HTTP server; GHE itself is never run locally)`;
  }

  private get urls(): rep.GithubUrls {
    return { web: this.url, api: this.apiUrl };
  }

  /** A token that authenticates as this user: the first one it has, or a new personal token. */
  tokenFor(login: string): string {
    const user = this.state.requireUser(login);
    for (const t of this.state.tokens.values()) if (t.login === user.login) return t.token;
    return this.state.addToken({ token: `ghp_${login.toLowerCase()}_${this.state.tokens.size + 1}`, login: user.login, scopes: ['repo', 'user:email', 'admin:repo_hook'] }).token;
  }

  /** Commits `files` to a branch of `owner/name` and delivers the `push` event to every subscribed hook. */
  async push(repoFullName: string, input: PushInput): Promise<PushResult> {
    const repo = this.state.requireRepo(repoFullName);
    const branch = input.branch ?? repo.defaultBranch;
    const before = repo.branches.get(branch) ?? NULL_SHA;
    const commit = this.state.commit(repo, {
      ...(input.files === undefined ? {} : { files: input.files }),
      ...(input.remove === undefined ? {} : { remove: input.remove }),
      message: input.message,
      branch,
      authorLogin: input.pusher ?? null,
    });
    const pusherLogin = commit.authorLogin;
    if (pusherLogin === null) throw new Error(`${repoFullName} has no user to push as; pass pusher`);
    const pusher = this.state.requireUser(pusherLogin);
    const payload = rep.pushPayload({ repo, branch, before, commits: [commit], pusher, urls: this.urls });
    const hooks = [...repo.hooks.values()].filter((h) => isSubscribed(h, 'push')).sort((a, b) => a.id - b.id);
    const deliveries = await Promise.all(hooks.map((h) => this.sender.deliver(h, repo, 'push', payload)));
    return { commit, before, deliveries };
  }

  /** The delivery log, oldest first; optionally only one repository's (`owner/name`) or one hook's. */
  deliveries(filter: { repo?: string; hookId?: number; event?: string } = {}): GithubDelivery[] {
    return this.state.deliveries.filter(
      (d) =>
        (filter.repo === undefined || d.repo.toLowerCase() === filter.repo.toLowerCase()) &&
        (filter.hookId === undefined || d.hookId === filter.hookId) &&
        (filter.event === undefined || d.event === filter.event),
    );
  }

  /** Redelivers a logged delivery now (what the API's `attempts` endpoint does) and resolves with the attempt. */
  async redeliver(deliveryId: number): Promise<GithubDelivery> {
    const original = this.state.deliveries.find((d) => d.id === deliveryId);
    const attempt = original === undefined ? undefined : this.sender.redeliver(original, 'api');
    if (attempt === undefined) throw new Error(`no delivery ${deliveryId} (or its hook is gone)`);
    return attempt;
  }

  /** Resolves once no webhook delivery is in flight. */
  settled(): Promise<void> {
    return this.sender.settled();
  }

  /** Stops listening, aborts deliveries in flight and cancels scheduled redeliveries. Idempotent. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      await this.sender.close();
      await this.server?.close();
    })();
    return this.stopped;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  // -- HTTP plumbing ------------------------------------------------------------------------------------------------

  /** A route of GitHub's API: `:name` parameters, `*` for the rest of the path (a file path), read as `params.path`. */
  private route(method: HttpMethod, path: string, handler: Handler): void {
    this.routes.on(method, path, (r) => this.handle(r, handler));
  }

  /** GHE 2.x documentation lives under its minor version. */
  private docsRoot(): string {
    const [major, minor] = this.settings.enterpriseVersion.split('.');
    return `https://docs.github.com/enterprise/${major}.${minor}`;
  }

  private docsUrl(): string {
    return `${this.docsRoot()}/rest`;
  }

  private commonHeaders(res: ServerResponse): void {
    res.setHeader('Server', 'GitHub.com');
    res.setHeader('X-GitHub-Enterprise-Version', this.settings.enterpriseVersion);
    res.setHeader('X-GitHub-Request-Id', `FAKE:${(++this.requestCount).toString(16).toUpperCase().padStart(8, '0')}`);
  }

  /** What every request gets (GitHub's headers; under /api/v3 authentication and the rate limit), then its route. */
  private async handle(request: HttpRequest, handler: Handler): Promise<void> {
    const { req, res } = request;
    this.commonHeaders(res);
    const url = new URL(req.url ?? '/', this.url);
    let auth: Ctx['auth'];
    if (isApiPath(request.path)) {
      auth = this.authenticate(req);
      if (trimSlashes(request.path) !== '/api/v3/rate_limit') this.countRequest(req, res, auth);
      else this.rateHeaders(res, this.rateWindow(req, auth), auth);
      res.setHeader('X-GitHub-Media-Type', 'github.v3; format=json');
      if (auth !== undefined) res.setHeader('X-OAuth-Scopes', auth.token.scopes.join(', '));
    }
    let bodyPromise: Promise<unknown> | undefined;
    const params: Record<string, string> = { ...request.params };
    if (params['*'] !== undefined) params.path = params['*'];
    const ctx: Ctx = { req, res, url, params, auth, body: () => (bodyPromise ??= readGithubBody(request)) };
    const out = await handler(ctx);
    if (res.headersSent || res.writableEnded) return;
    if (out instanceof Reply) this.json(res, out.status, out.body);
    else this.json(res, 200, out);
  }

  /** GitHub's JSON error (`{ message, documentation_url }`); outside the API an unknown page is a plain 404. */
  private errorAnswer(error: HttpError, path: string): ErrorAnswer {
    if (!isApiPath(path) && error.status === 404) return { contentType: 'text/plain; charset=utf-8', body: 'Not Found' };
    const message = error.code === LAYER_ERROR_CODES.internal ? `Server Error: ${error.message}` : error.message;
    return { contentType: 'application/json; charset=utf-8', body: JSON.stringify({ message, ...error.details, documentation_url: this.docsUrl() }) };
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    if (status === 204 || body === undefined) {
      res.writeHead(status).end();
      return;
    }
    sendJson(res, status, body, 'application/json; charset=utf-8');
  }

  /** `Authorization: token X`, `Bearer X`, or Basic with the token as password; a wrong token is a 401. */
  private authenticate(req: IncomingMessage): Ctx['auth'] {
    const header = req.headers.authorization;
    if (header === undefined || header.trim() === '') return undefined;
    const [scheme = '', ...rest] = header.trim().split(/\s+/);
    let token = rest.join(' ');
    if (scheme.toLowerCase() === 'basic') {
      const decoded = Buffer.from(token, 'base64').toString('utf8');
      token = decoded.slice(decoded.indexOf(':') + 1);
    } else if (scheme.toLowerCase() !== 'token' && scheme.toLowerCase() !== 'bearer') {
      throw githubError(401, 'Bad credentials');
    }
    const auth = this.state.authenticate(token);
    if (auth === undefined) throw githubError(401, 'Bad credentials');
    return auth;
  }

  private rateKey(req: IncomingMessage, auth: Ctx['auth']): string {
    return auth === undefined ? `ip:${req.socket.remoteAddress ?? 'unknown'}` : `user:${auth.user.id}`;
  }

  private rateWindow(req: IncomingMessage, auth: Ctx['auth']): { startMs: number; used: number } {
    const k = this.rateKey(req, auth);
    const nowMs = this.state.nowMs();
    let w = this.rateWindows.get(k);
    if (w === undefined || nowMs - w.startMs >= this.settings.rateLimit.windowMs) {
      w = { startMs: nowMs, used: 0 };
      this.rateWindows.set(k, w);
    }
    return w;
  }

  private limitFor(auth: Ctx['auth']): number {
    return auth === undefined ? this.settings.rateLimit.unauthenticatedLimit : this.settings.rateLimit.limit;
  }

  private rateHeaders(res: ServerResponse, w: { startMs: number; used: number }, auth: Ctx['auth']): void {
    const limit = this.limitFor(auth);
    res.setHeader('X-RateLimit-Limit', String(limit));
    res.setHeader('X-RateLimit-Remaining', String(Math.max(0, limit - w.used)));
    res.setHeader('X-RateLimit-Reset', String(Math.ceil((w.startMs + this.settings.rateLimit.windowMs) / 1000)));
    res.setHeader('X-RateLimit-Used', String(w.used));
    res.setHeader('X-RateLimit-Resource', 'core');
  }

  private countRequest(req: IncomingMessage, res: ServerResponse, auth: Ctx['auth']): void {
    const w = this.rateWindow(req, auth);
    const limit = this.limitFor(auth);
    if (w.used >= limit) {
      this.rateHeaders(res, w, auth);
      const who = auth === undefined ? (req.socket.remoteAddress ?? 'unknown') : `user ID ${auth.user.id}`;
      throw githubError(403, `API rate limit exceeded for ${who}.`);
    }
    w.used++;
    this.rateHeaders(res, w, auth);
  }

  // -- helpers of the handlers --------------------------------------------------------------------------------------

  private requireAuth(ctx: Ctx): { user: GithubUser; token: GithubToken } {
    if (ctx.auth === undefined) throw githubError(401, 'Requires authentication');
    return ctx.auth;
  }

  /** The repository of the path, or a 404 when it does not exist or the caller may not see it. */
  private readableRepo(ctx: Ctx): GithubRepo {
    const repo = this.state.repo(ctx.params.owner ?? '', ctx.params.repo ?? '');
    if (repo === undefined || !this.state.canRead(ctx.auth?.user, repo)) throw githubError(404, 'Not Found');
    return repo;
  }

  /** The repository of the path for a write: 401 without credentials, 404 without admin rights (GitHub's way). */
  private adminRepo(ctx: Ctx): GithubRepo {
    const { user } = this.requireAuth(ctx);
    const repo = this.readableRepo(ctx);
    if (!this.state.canAdmin(user, repo)) throw githubError(404, 'Not Found');
    return repo;
  }

  private permissions(ctx: Ctx, repo: GithubRepo): { admin: boolean; push: boolean; pull: boolean } | undefined {
    if (ctx.auth === undefined) return undefined;
    const admin = this.state.canAdmin(ctx.auth.user, repo);
    return { admin, push: admin, pull: this.state.canRead(ctx.auth.user, repo) };
  }

  /** One page of a list, with GitHub's `Link` header (`per_page` up to 100, `page` from 1). */
  private page<T>(ctx: Ctx, items: readonly T[]): T[] {
    const perPage = Math.min(MAX_PER_PAGE, Math.max(1, Number.parseInt(ctx.url.searchParams.get('per_page') ?? '', 10) || DEFAULT_PER_PAGE));
    const page = Math.max(1, Number.parseInt(ctx.url.searchParams.get('page') ?? '', 10) || 1);
    const last = Math.max(1, Math.ceil(items.length / perPage));
    const link = (p: number, rel: string): string => {
      const u = new URL(ctx.url.pathname + ctx.url.search, this.url);
      u.searchParams.set('per_page', String(perPage));
      u.searchParams.set('page', String(p));
      return `<${u.toString()}>; rel="${rel}"`;
    };
    const links: string[] = [];
    if (page < last) links.push(link(page + 1, 'next'), link(last, 'last'));
    if (page > 1) links.push(link(1, 'first'), link(page - 1, 'prev'));
    if (links.length > 0) ctx.res.setHeader('Link', links.join(', '));
    return items.slice((page - 1) * perPage, page * perPage);
  }

  private hookOf(ctx: Ctx, repo: GithubRepo): GithubHook {
    const hook = repo.hooks.get(Number(ctx.params.hook_id));
    if (hook === undefined) throw githubError(404, 'Not Found');
    return hook;
  }

  // -- routes -------------------------------------------------------------------------------------------------------

  private defineRoutes(): void {
    const api = '/api/v3';

    this.route('GET', api, () => ({
      current_user_url: `${this.apiUrl}/user`,
      authorizations_url: `${this.apiUrl}/authorizations`,
      organization_url: `${this.apiUrl}/orgs/{org}`,
      repository_url: `${this.apiUrl}/repos/{owner}/{repo}`,
      user_url: `${this.apiUrl}/users/{user}`,
      rate_limit_url: `${this.apiUrl}/rate_limit`,
    }));

    this.route('GET', `${api}/meta`, () => ({
      verifiable_password_authentication: true,
      installed_version: this.settings.enterpriseVersion,
      hooks: [`${this.host}/32`],
    }));

    this.route('GET', `${api}/rate_limit`, (ctx) => {
      const w = this.rateWindow(ctx.req, ctx.auth);
      const limit = this.limitFor(ctx.auth);
      const core = {
        limit,
        remaining: Math.max(0, limit - w.used),
        reset: Math.ceil((w.startMs + this.settings.rateLimit.windowMs) / 1000),
        used: w.used,
        resource: 'core',
      };
      const search = { limit: 30, remaining: 30, reset: Math.ceil((this.state.nowMs() + 60_000) / 1000), used: 0, resource: 'search' };
      return { resources: { core, search, graphql: { ...core, resource: 'graphql' } }, rate: core };
    });

    // -- users and orgs
    this.route('GET', `${api}/user`, (ctx) => rep.privateUser(this.requireAuth(ctx).user, this.state, this.urls));
    this.route('GET', `${api}/user/emails`, (ctx) => {
      const { user } = this.requireAuth(ctx);
      return user.email === null ? [] : [{ email: user.email, primary: true, verified: true, visibility: 'private' }];
    });
    this.route('GET', `${api}/users/:login`, (ctx) => {
      const account = this.state.account(ctx.params.login ?? '');
      if (account === undefined) throw githubError(404, 'Not Found');
      return rep.publicUser(account, this.state, this.urls);
    });
    this.route('GET', `${api}/user/orgs`, (ctx) => {
      const { user } = this.requireAuth(ctx);
      return this.page(ctx, this.state.orgsOf(user)).map((o) => rep.orgSimple(o, this.urls));
    });
    this.route('GET', `${api}/orgs/:org`, (ctx) => {
      const org = this.state.orgs.get((ctx.params.org ?? '').toLowerCase());
      if (org === undefined) throw githubError(404, 'Not Found');
      return rep.orgFull(org, this.state, this.urls);
    });

    // -- repositories
    this.route('GET', `${api}/user/repos`, (ctx) => {
      const { user } = this.requireAuth(ctx);
      const q = ctx.url.searchParams;
      const visibility = q.get('visibility') ?? 'all';
      const type = q.get('type') ?? 'all';
      const affiliation = (q.get('affiliation') ?? 'owner,collaborator,organization_member').split(',');
      const repos = this.state.reposOf(user).filter((r) => {
        const owned = r.owner.type === 'User';
        if (visibility === 'public' && r.private) return false;
        if (visibility === 'private' && !r.private) return false;
        if (type === 'owner' && !owned) return false;
        if (type === 'member' && owned) return false;
        if (type === 'public' && r.private) return false;
        if (type === 'private' && !r.private) return false;
        return owned ? affiliation.includes('owner') : affiliation.includes('organization_member');
      });
      return this.page(ctx, repos).map((r) => rep.repository(r, this.urls, this.permissions(ctx, r)));
    });
    this.route('GET', `${api}/repos/:owner/:repo`, (ctx) => {
      const repo = this.readableRepo(ctx);
      return rep.repository(repo, this.urls, this.permissions(ctx, repo));
    });

    const contents = (ctx: Ctx): unknown => {
      const repo = this.readableRepo(ctx);
      if (repo.commits.size === 0) throw githubError(404, 'This repository is empty.');
      const ref = ctx.url.searchParams.get('ref') ?? undefined;
      const commit = this.state.resolveRef(repo, ref);
      if (commit === undefined) throw githubError(404, `No commit found for the ref ${ref ?? repo.defaultBranch}`);
      const entry = this.state.contentAt(commit, ctx.params.path ?? '');
      if (entry === undefined) throw githubError(404, 'Not Found');
      const refName = ref ?? repo.defaultBranch;
      if (entry.type === 'dir') return entry.entries.map((e) => rep.contentItem(e, repo, refName, this.urls));
      const accept = ctx.req.headers.accept ?? '';
      if (/\.raw\b/.test(accept)) {
        sendText(ctx.res, 200, entry.content, 'application/vnd.github.raw; charset=utf-8');
        return undefined;
      }
      return rep.contentFile(entry, repo, refName, this.urls);
    };
    this.route('GET', `${api}/repos/:owner/:repo/contents`, contents);
    this.route('GET', `${api}/repos/:owner/:repo/contents/*`, contents);

    const commitOf = (ctx: Ctx, repo: GithubRepo): GithubCommit => {
      if (repo.commits.size === 0) throw githubError(409, 'Git Repository is empty.');
      const commit = this.state.resolveRef(repo, ctx.params.ref);
      if (commit === undefined) throw githubError(422, `No commit found for SHA: ${ctx.params.ref}`);
      return commit;
    };
    this.route('GET', `${api}/repos/:owner/:repo/commits/:ref`, (ctx) => {
      const repo = this.readableRepo(ctx);
      return rep.commit(commitOf(ctx, repo), repo, this.state, this.urls);
    });

    // -- statuses
    this.route('POST', `${api}/repos/:owner/:repo/statuses/:sha`, async (ctx) => {
      const repo = this.adminRepo(ctx);
      const body = asObject(await ctx.body());
      const state = body.state;
      if (typeof state !== 'string' || !(STATUS_STATES as readonly string[]).includes(state)) {
        throw validationFailed('Status', 'state', 'state is not included in the list');
      }
      const commit = repo.commits.get((ctx.params.sha ?? '').toLowerCase());
      if (commit === undefined) throw githubError(422, `No commit found for SHA: ${ctx.params.sha}`);
      const status = this.state.addStatus(repo, commit.sha, {
        state: state as StatusState,
        context: optionalString(body.context, 'context') ?? 'default',
        description: optionalString(body.description, 'description') ?? null,
        targetUrl: optionalString(body.target_url, 'target_url') ?? null,
        creatorLogin: this.requireAuth(ctx).user.login,
      });
      return new Reply(201, rep.status(status, repo, this.state, this.urls));
    });
    this.route('GET', `${api}/repos/:owner/:repo/commits/:ref/statuses`, (ctx) => {
      const repo = this.readableRepo(ctx);
      const commit = commitOf(ctx, repo);
      return this.page(ctx, this.state.statusesOf(repo, commit.sha)).map((s) => rep.status(s, repo, this.state, this.urls));
    });
    this.route('GET', `${api}/repos/:owner/:repo/commits/:ref/status`, (ctx) => {
      const repo = this.readableRepo(ctx);
      const commit = commitOf(ctx, repo);
      const latest = this.state.latestStatusesOf(repo, commit.sha);
      return {
        state: this.state.combinedState(latest),
        statuses: latest.map((s) => rep.status(s, repo, this.state, this.urls)),
        sha: commit.sha,
        total_count: latest.length,
        repository: rep.repository(repo, this.urls),
        commit_url: `${this.apiUrl}/repos/${fullName(repo)}/commits/${commit.sha}`,
        url: `${this.apiUrl}/repos/${fullName(repo)}/commits/${commit.sha}/status`,
      };
    });

    // -- hooks
    this.route('GET', `${api}/repos/:owner/:repo/hooks`, (ctx) => {
      const repo = this.adminRepo(ctx);
      const hooks = [...repo.hooks.values()].sort((a, b) => a.id - b.id);
      return this.page(ctx, hooks).map((h) => rep.hook(h, repo, this.urls));
    });
    this.route('POST', `${api}/repos/:owner/:repo/hooks`, async (ctx) => {
      const repo = this.adminRepo(ctx);
      const body = asObject(await ctx.body());
      const config = asObject(body.config ?? {});
      const url = config.url;
      if (typeof url !== 'string' || !/^https?:\/\//.test(url)) {
        throw validationFailed('Hook', 'url', 'Config must contain URL for webhooks');
      }
      const name = body.name ?? 'web';
      if (name !== 'web') throw validationFailed('Hook', 'name', `${String(name)} is not a valid hook name`);
      const contentType = config.content_type ?? 'form';
      if (contentType !== 'json' && contentType !== 'form') {
        throw validationFailed('Hook', 'content_type', 'content_type must be json or form');
      }
      const events = body.events ?? ['push'];
      if (!Array.isArray(events) || !events.every((e): e is string => typeof e === 'string') || events.length === 0) {
        throw validationFailed('Hook', 'events', 'events must be a non-empty list of event names');
      }
      const hook = this.state.addHook(repo, {
        url,
        secret: optionalString(config.secret, 'secret') ?? null,
        contentType,
        events: [...events],
        active: body.active === undefined ? true : body.active === true,
        insecureSsl: config.insecure_ssl === '1' || config.insecure_ssl === 1 ? '1' : '0',
      });
      // GitHub pings a new hook; the ping is logged like any other delivery.
      void this.sender.deliver(hook, repo, 'ping', rep.pingPayload(hook, repo, this.requireAuth(ctx).user, this.urls));
      return new Reply(201, rep.hook(hook, repo, this.urls));
    });
    this.route('GET', `${api}/repos/:owner/:repo/hooks/:hook_id`, (ctx) => {
      const repo = this.adminRepo(ctx);
      return rep.hook(this.hookOf(ctx, repo), repo, this.urls);
    });
    this.route('DELETE', `${api}/repos/:owner/:repo/hooks/:hook_id`, (ctx) => {
      const repo = this.adminRepo(ctx);
      repo.hooks.delete(this.hookOf(ctx, repo).id);
      return new Reply(204, undefined);
    });
    this.route('POST', `${api}/repos/:owner/:repo/hooks/:hook_id/pings`, (ctx) => {
      const repo = this.adminRepo(ctx);
      const hook = this.hookOf(ctx, repo);
      void this.sender.deliver(hook, repo, 'ping', rep.pingPayload(hook, repo, this.requireAuth(ctx).user, this.urls));
      return new Reply(204, undefined);
    });
    this.route('GET', `${api}/repos/:owner/:repo/hooks/:hook_id/deliveries`, (ctx) => {
      const repo = this.adminRepo(ctx);
      const hook = this.hookOf(ctx, repo);
      // Newest first, as GitHub lists them.
      const list = this.state.deliveries.filter((d) => d.hookId === hook.id).reverse();
      return this.page(ctx, list).map(rep.deliveryItem);
    });
    const deliveryOf = (ctx: Ctx): GithubDelivery => {
      const repo = this.adminRepo(ctx);
      const hook = this.hookOf(ctx, repo);
      const d = this.state.deliveries.find((x) => x.id === Number(ctx.params.delivery_id) && x.hookId === hook.id);
      if (d === undefined) throw githubError(404, 'Not Found');
      return d;
    };
    this.route('GET', `${api}/repos/:owner/:repo/hooks/:hook_id/deliveries/:delivery_id`, (ctx) => rep.delivery(deliveryOf(ctx)));
    this.route('POST', `${api}/repos/:owner/:repo/hooks/:hook_id/deliveries/:delivery_id/attempts`, (ctx) => {
      const original = deliveryOf(ctx);
      // Accepted now, delivered in the background, as on GitHub: the result shows up in the delivery log.
      void this.sender.redeliver(original, 'api');
      return new Reply(202, {});
    });

    // -- OAuth web flow (outside /api/v3, as on a GHE instance)
    this.route('GET', '/login/oauth/authorize', (ctx) => this.authorize(ctx));
    this.route('POST', '/login/oauth/access_token', (ctx) => this.accessToken(ctx));
  }

  /**
   * The authorize page, auto-approved: GHE's browser session is `authorizing_user` (or the user named by
   * GitHub's `login` parameter), and the app is considered already authorized, so it redirects at once.
   */
  private authorize(ctx: Ctx): undefined {
    const q = ctx.url.searchParams;
    const app = this.state.oauthApps.get(q.get('client_id') ?? '');
    if (app === undefined) {
      sendText(ctx.res, 404, '<html><body><h1>404</h1><p>No OAuth application with that client_id.</p></body></html>', 'text/html; charset=utf-8');
      return undefined;
    }
    const state = q.get('state');
    const redirectUri = q.get('redirect_uri');
    const redirect = (target: string, params: Record<string, string>): void => {
      const u = new URL(target);
      for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
      if (state !== null) u.searchParams.set('state', state);
      ctx.res.writeHead(302, { Location: u.toString(), 'Content-Length': 0 }).end();
    };
    if (redirectUri !== null && !redirectUriAllowed(redirectUri, app.callbackUrl)) {
      redirect(app.callbackUrl, {
        error: 'redirect_uri_mismatch',
        error_description: 'The redirect_uri MUST match the registered callback URL for this application.',
        error_uri: `${this.docsRoot()}/developers/apps/troubleshooting-authorization-request-errors#redirect-uri-mismatch`,
      });
      return undefined;
    }
    const login = q.get('login');
    const user = (login !== null ? this.state.user(login) : undefined) ?? (this.state.authorizingLogin === null ? undefined : this.state.user(this.state.authorizingLogin));
    if (user === undefined) {
      sendText(ctx.res, 401, '<html><body><p>Sign in to GitHub Enterprise to continue.</p></body></html>', 'text/html; charset=utf-8');
      return undefined;
    }
    const scopes = (q.get('scope') ?? '').split(/[\s,]+/).filter((s) => s !== '');
    const code = this.state.issueCode({ clientId: app.clientId, login: user.login, redirectUri, scopes });
    redirect(redirectUri ?? app.callbackUrl, { code });
    return undefined;
  }

  /** Exchanges a code for a token; form or JSON in, form-encoded out unless `Accept: application/json`. */
  private async accessToken(ctx: Ctx): Promise<undefined> {
    const body = asObject(await ctx.body());
    const field = (name: string): string | undefined => {
      const v = body[name] ?? ctx.url.searchParams.get(name) ?? undefined;
      return typeof v === 'string' ? v : undefined;
    };
    const redirectUri = field('redirect_uri');
    const result = this.state.exchangeCode({
      clientId: field('client_id') ?? '',
      clientSecret: field('client_secret') ?? '',
      code: field('code') ?? '',
      ...(redirectUri === undefined ? {} : { redirectUri }),
    });
    const descriptions: Record<string, string> = {
      incorrect_client_credentials: 'The client_id and/or client_secret passed are incorrect.',
      bad_verification_code: 'The code passed is incorrect or expired.',
      redirect_uri_mismatch: 'The redirect_uri MUST match the registered callback URL for this application.',
    };
    // GitHub answers refused exchanges with 200 and an `error` field, not with an HTTP error.
    const out: Record<string, string> = result.ok
      ? { access_token: result.token.token, token_type: 'bearer', scope: result.token.scopes.join(',') }
      : {
          error: result.error,
          error_description: descriptions[result.error] ?? result.error,
          error_uri: `${this.docsRoot()}/developers/apps/troubleshooting-oauth-app-access-token-request-errors`,
        };
    const accept = (ctx.req.headers.accept ?? '').toLowerCase();
    if (accept.includes('application/json')) this.json(ctx.res, 200, out);
    else sendText(ctx.res, 200, new URLSearchParams(out).toString(), 'application/x-www-form-urlencoded; charset=utf-8');
    return undefined;
  }
}

/**
 * GitHub's rule: the redirect URI's host and port equal the callback URL's and its path is at or under the
 * callback's path; on a loopback host any port is allowed (native apps listen on ephemeral ports).
 */
export function redirectUriAllowed(redirectUri: string, callbackUrl: string): boolean {
  let r: URL;
  let c: URL;
  try {
    r = new URL(redirectUri);
    c = new URL(callbackUrl);
  } catch {
    return false;
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(c.hostname);
  if (r.protocol !== c.protocol || r.hostname !== c.hostname) return false;
  if (!loopback && r.port !== c.port) return false;
  const base = c.pathname.endsWith('/') ? c.pathname : `${c.pathname}/`;
  return r.pathname === c.pathname || r.pathname.startsWith(base);
}

function trimSlashes(path: string): string {
  return path.length > 1 ? path.replace(/\/+$/, '') : path;
}

function isApiPath(path: string): boolean {
  const p = trimSlashes(path);
  return p === '/api/v3' || p.startsWith('/api/v3/');
}

/** A request body as GitHub reads it: a form, or JSON (malformed JSON is GitHub's 400 "Problems parsing JSON"). */
async function readGithubBody(request: HttpRequest): Promise<unknown> {
  const raw = await request.text();
  const type = (request.req.headers['content-type'] ?? '').toLowerCase();
  if (raw.trim() === '') return {};
  if (type.includes('application/x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(raw));
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    throw githubError(400, 'Problems parsing JSON');
  }
}

function asObject(v: unknown): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw githubError(400, 'Problems parsing JSON');
  return v as Record<string, unknown>;
}

function optionalString(v: unknown, field: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw validationFailed('Request', field, `${field} must be a string`);
  return v;
}

/** GitHub's 422: `Validation Failed` with one entry in `errors`. */
function validationFailed(resource: string, field: string, message: string): HttpError {
  return githubError(422, 'Validation Failed', { errors: [{ resource, code: 'custom', field, message }] });
}
