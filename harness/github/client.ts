import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The twin's own small GitHub Enterprise client, what picard-dispatcher uses to fetch `.circleci/config.yml`
 * ("successfully fetched and parsed .circleci/config.yml" in the operations guide's log), what follows a project
 * (its push hook) and what reports commit statuses; plus the webhook signature check the frontend does on every hook it receives.
 *
 * It speaks the REST API with `fetch` and turns every way a call can go wrong into a `GithubClientError` with a
 * `code`, the repository and path it was about, and the URL, so callers branch on data, not on messages.
 */

/** Why a call failed. */
export type GithubClientErrorCode =
  | 'NOT_FOUND'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'RATE_LIMITED'
  | 'VALIDATION_FAILED'
  | 'HTTP_ERROR'
  | 'NETWORK_ERROR'
  | 'TIMEOUT'
  | 'BAD_RESPONSE';

/** An operating error of a GitHub call: what was asked (repository, path, URL) and what came back. */
export class GithubClientError extends Error {
  override readonly name = 'GithubClientError';

  constructor(
    readonly code: GithubClientErrorCode,
    message: string,
    readonly details: {
      /** `owner/name`, when the call was about a repository. */
      readonly repo?: string;
      /** The file path, for contents calls. */
      readonly path?: string;
      readonly ref?: string;
      readonly method: string;
      readonly url: string;
      /** HTTP status, when there was an answer. */
      readonly status?: number;
      /** GitHub's `message`, when the answer had one. */
      readonly githubMessage?: string;
      /** When the rate limit resets (epoch seconds), for RATE_LIMITED. */
      readonly rateLimitResetSec?: number;
    },
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  get status(): number | undefined {
    return this.details.status;
  }
}

/** Options of the client. */
export interface GithubClientOptions {
  /** The REST root: `https://ghe.example.com/api/v3` (or the fake's `apiUrl`). */
  apiUrl: string;
  /** An OAuth or personal access token; sent as `Authorization: token …`. */
  token?: string;
  /** Per-request budget; default 10 s. */
  timeoutMs?: number;
  userAgent?: string;
  /** The fetch to use; default the global one (tests may pass their own). */
  fetch?: typeof fetch;
}

/** A commit status to report. */
export interface CommitStatusInput {
  state: 'error' | 'failure' | 'pending' | 'success';
  context: string;
  description?: string;
  targetUrl?: string;
}

/** A status as GitHub returns it (the fields the twin reads). */
export interface CommitStatus {
  id: number;
  state: string;
  context: string;
  description: string | null;
  target_url: string | null;
  created_at: string;
}

/** The file picard-dispatcher fetches for every build. */
export const CIRCLE_CONFIG_PATH = '.circleci/config.yml';

/** A fetch-based GHE REST client with typed errors. */
export class GithubClient {
  private readonly apiUrl: string;
  private readonly token: string | undefined;
  private readonly timeoutMs: number;
  private readonly userAgent: string;
  private readonly fetchImpl: typeof fetch;

  constructor(options: GithubClientOptions) {
    this.apiUrl = options.apiUrl.replace(/\/+$/, '');
    this.token = options.token;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.userAgent = options.userAgent ?? 'circleci-server-twin/picard-dispatcher';
    this.fetchImpl = options.fetch ?? fetch;
  }

  /** The same client calling with another token (a project followed by someone else). */
  withToken(token: string): GithubClient {
    return new GithubClient({ apiUrl: this.apiUrl, token, timeoutMs: this.timeoutMs, userAgent: this.userAgent, fetch: this.fetchImpl });
  }

  /**
   * The text of a file at a commit (default `.circleci/config.yml`), from the contents API (base64-decoded).
   * A missing repository, file or commit is a `NOT_FOUND` error naming the repository, path and ref.
   */
  async fetchConfig(owner: string, repo: string, sha: string, path: string = CIRCLE_CONFIG_PATH): Promise<string> {
    const encodedPath = path.split('/').filter((s) => s !== '').map(encodeURIComponent).join('/');
    const url = `${this.apiUrl}/repos/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}/contents/${encodedPath}?ref=${encodeURIComponent(sha)}`;
    const about = { repo: `${owner}/${repo}`, path, ref: sha };
    const body = await this.request('GET', url, about);
    if (Array.isArray(body)) {
      throw new GithubClientError('BAD_RESPONSE', `${owner}/${repo}: ${path} at ${sha} is a directory, not a file`, { ...about, method: 'GET', url });
    }
    const file = body as { type?: unknown; encoding?: unknown; content?: unknown };
    if (file.type !== 'file' || typeof file.content !== 'string') {
      throw new GithubClientError('BAD_RESPONSE', `${owner}/${repo}: ${path} at ${sha}: the answer is not a file`, { ...about, method: 'GET', url });
    }
    if (file.encoding === 'base64') return Buffer.from(file.content.replace(/\s+/g, ''), 'base64').toString('utf8');
    if (file.encoding === 'utf-8' || file.encoding === 'utf8') return file.content;
    throw new GithubClientError('BAD_RESPONSE', `${owner}/${repo}: ${path} at ${sha}: unsupported encoding ${String(file.encoding)}`, { ...about, method: 'GET', url });
  }

  /** Reports a commit status (`POST /repos/:owner/:repo/statuses/:sha`). */
  async setStatus(owner: string, repo: string, sha: string, status: CommitStatusInput): Promise<CommitStatus> {
    const url = `${this.apiUrl}/repos/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}/statuses/${encodeURIComponent(sha)}`;
    const payload = {
      state: status.state,
      context: status.context,
      ...(status.description === undefined ? {} : { description: status.description }),
      ...(status.targetUrl === undefined ? {} : { target_url: status.targetUrl }),
    };
    return (await this.request('POST', url, { repo: `${owner}/${repo}`, ref: sha }, payload)) as CommitStatus;
  }

  /**
   * Subscribes a URL to the repository's events (`POST /repos/:owner/:repo/hooks`, JSON payloads signed with
   * `secret`): what CircleCI does when a project is followed, so that pushes reach frontend.
   */
  async createHook(owner: string, repo: string, hook: { url: string; secret: string; events?: readonly string[] }): Promise<{ id: number }> {
    const url = `${this.apiUrl}/repos/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}/hooks`;
    const payload = { name: 'web', active: true, events: hook.events ?? ['push'], config: { url: hook.url, secret: hook.secret, content_type: 'json' } };
    return (await this.request('POST', url, { repo: `${owner}/${repo}` }, payload)) as { id: number };
  }

  private async request(method: string, url: string, about: { repo?: string; path?: string; ref?: string }, payload?: unknown): Promise<unknown> {
    const headers: Record<string, string> = {
      Accept: 'application/vnd.github.v3+json',
      'User-Agent': this.userAgent,
    };
    if (this.token !== undefined) headers.Authorization = `token ${this.token}`;
    if (payload !== undefined) headers['Content-Type'] = 'application/json';
    const what = describe(about);
    let res: Response;
    try {
      res = await this.fetchImpl(url, {
        method,
        headers,
        ...(payload === undefined ? {} : { body: JSON.stringify(payload) }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
      const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : err instanceof Error ? err.message : String(err);
      throw new GithubClientError(
        timedOut ? 'TIMEOUT' : 'NETWORK_ERROR',
        timedOut ? `${what}: no answer from GitHub Enterprise within ${this.timeoutMs} ms (${method} ${url})` : `${what}: cannot reach GitHub Enterprise (${method} ${url}): ${cause}`,
        { ...about, method, url },
        { cause: err },
      );
    }
    const text = await res.text();
    let body: unknown;
    try {
      body = text === '' ? undefined : (JSON.parse(text) as unknown);
    } catch {
      body = undefined;
    }
    if (res.ok) {
      if (body === undefined) throw new GithubClientError('BAD_RESPONSE', `${what}: the answer is not JSON (${method} ${url})`, { ...about, method, url, status: res.status });
      return body;
    }
    const githubMessage = typeof (body as { message?: unknown } | undefined)?.message === 'string' ? (body as { message: string }).message : undefined;
    const details = { ...about, method, url, status: res.status, ...(githubMessage === undefined ? {} : { githubMessage }) };
    const said = githubMessage === undefined ? `HTTP ${res.status}` : `${res.status} ${githubMessage}`;
    if (res.status === 404) throw new GithubClientError('NOT_FOUND', `${what} not found on GitHub Enterprise (${said}; ${method} ${url})`, details);
    if (res.status === 401) throw new GithubClientError('UNAUTHORIZED', `${what}: GitHub Enterprise refused the credentials (${said}); check the OAuth token`, details);
    if (res.status === 403 || res.status === 429) {
      const remaining = res.headers.get('x-ratelimit-remaining');
      if (remaining === '0' || res.status === 429) {
        const reset = Number(res.headers.get('x-ratelimit-reset'));
        throw new GithubClientError('RATE_LIMITED', `${what}: GitHub Enterprise rate limit exceeded (${said})`, {
          ...details,
          ...(Number.isFinite(reset) && reset > 0 ? { rateLimitResetSec: reset } : {}),
        });
      }
      throw new GithubClientError('FORBIDDEN', `${what}: forbidden by GitHub Enterprise (${said})`, details);
    }
    if (res.status === 422) throw new GithubClientError('VALIDATION_FAILED', `${what}: GitHub Enterprise rejected the request (${said})`, details);
    throw new GithubClientError('HTTP_ERROR', `${what}: GitHub Enterprise answered ${said} (${method} ${url})`, details);
  }
}

function describe(about: { repo?: string; path?: string; ref?: string }): string {
  if (about.repo === undefined) return 'GitHub Enterprise';
  if (about.path !== undefined) return `${about.repo}/${about.path}${about.ref === undefined ? '' : ` at ${about.ref}`}`;
  return `${about.repo}${about.ref === undefined ? '' : ` at ${about.ref}`}`;
}

/**
 * Checks a webhook's signature header against the raw body and the hook's secret, in constant time.
 * `header` is `X-Hub-Signature-256` (`sha256=<hex>`), or GHE 2.x's `X-Hub-Signature` (`sha1=<hex>`).
 * Anything missing or malformed is simply not valid.
 */
export function verifyWebhookSignature(rawBody: string | Buffer, header: string | undefined | null, secret: string): boolean {
  if (typeof header !== 'string') return false;
  const m = /^(sha256|sha1)=([0-9a-f]+)$/i.exec(header.trim());
  if (m === null) return false;
  const algorithm = m[1]!.toLowerCase();
  const given = Buffer.from(m[2]!.toLowerCase(), 'hex');
  const expected = createHmac(algorithm, secret).update(rawBody).digest();
  // timingSafeEqual throws on different lengths; a length mismatch reveals nothing secret.
  return given.length === expected.length && timingSafeEqual(given, expected);
}
