import { createHmac } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { performance } from 'node:perf_hooks';
import type { Rng } from '../../sim/engine/rng.ts';
import type { GithubDelivery, GithubHook, GithubRepo, GithubState } from './state.ts';
import { fullName } from './state.ts';

/**
 * Delivers webhook events the way GitHub Enterprise's hookshot does: one POST per hook, signed with the hook's
 * secret, a 10 s budget, every attempt written to the delivery log, and no automatic retry. The seeds say GHE
 * "may also attempt to redeliver the webhooks, but it's not guaranteed": a redelivery happens when the API asks
 * for one, or, if a `RedeliveryPolicy` is set, when a seeded draw says so.
 */

/** Optional automatic redelivery of failed deliveries: once, after `afterMs`, with this probability. */
export interface RedeliveryPolicy {
  /** Chance in [0, 1] that a failed delivery is attempted once more. */
  probability: number;
  /** Delay before that attempt. */
  afterMs: number;
}

/** Settled options of the sender (defaults applied by the server's builder). */
export interface WebhookSenderSettings {
  readonly timeoutMs: number;
  readonly redeliveryPolicy: RedeliveryPolicy | null;
  readonly enterpriseVersion: string;
  /** The `X-GitHub-Enterprise-Host` value: the instance's host name. */
  readonly enterpriseHost: () => string;
  /** Bytes of a receiver's answer kept in the log. */
  readonly maxResponseBytes: number;
}

/** The signature headers of a body: `X-Hub-Signature` (sha1) and `X-Hub-Signature-256`. */
export function signWebhookBody(body: string | Buffer, secret: string): { sha1: string; sha256: string } {
  return {
    sha1: `sha1=${createHmac('sha1', secret).update(body).digest('hex')}`,
    sha256: `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
  };
}

/** Does this hook want this event? `ping` always goes; `*` subscribes to everything. */
export function isSubscribed(hook: GithubHook, event: string): boolean {
  return hook.active && (event === 'ping' || hook.events.includes(event) || hook.events.includes('*'));
}

interface Attempt {
  hook: GithubHook;
  repo: GithubRepo;
  event: string;
  action: string | null;
  guid: string;
  payload: unknown;
  redelivery: boolean;
  trigger: GithubDelivery['trigger'];
}

/** Sends events to hooks and keeps the delivery log. */
export class WebhookSender {
  private readonly inFlight = new Set<Promise<GithubDelivery>>();
  private readonly aborters = new Set<() => void>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(
    private readonly state: GithubState,
    private readonly settings: WebhookSenderSettings,
    private readonly rng: Rng,
  ) {}

  /** Delivers a new event to one hook (a fresh GUID) and resolves with the logged attempt. */
  deliver(hook: GithubHook, repo: GithubRepo, event: string, payload: unknown, action: string | null = null): Promise<GithubDelivery> {
    return this.attempt({ hook, repo, event, action, guid: this.state.newGuid(), payload, redelivery: false, trigger: 'event' });
  }

  /** Delivers a logged event again (same GUID and payload, signed with the hook's current secret). */
  redeliver(original: GithubDelivery, trigger: 'api' | 'policy' = 'api'): Promise<GithubDelivery> | undefined {
    const repo = [...this.state.repos.values()].find((r) => r.id === original.repoId);
    const hook = repo?.hooks.get(original.hookId);
    if (repo === undefined || hook === undefined) return undefined;
    return this.attempt({
      hook,
      repo,
      event: original.event,
      action: original.action,
      guid: original.guid,
      payload: original.request.payload,
      redelivery: true,
      trigger,
    });
  }

  /** Resolves once no delivery is in flight (scheduled policy redeliveries are not waited for). */
  async settled(): Promise<void> {
    // Bounded: each round waits for what is in flight; deliveries started meanwhile are picked up next round.
    for (let round = 0; round < 100 && this.inFlight.size > 0; round++) await Promise.allSettled([...this.inFlight]);
  }

  /** Cancels scheduled redeliveries and aborts deliveries in flight (they are logged as failed). */
  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const abort of this.aborters) abort();
    await this.settled();
  }

  private attempt(a: Attempt): Promise<GithubDelivery> {
    // Drawn when the attempt starts, in the order events happen, so concurrent deliveries finishing in any
    // order cannot change which of them the policy redelivers.
    const redeliverIfFailed = this.shouldRedeliverIfFailed(a);
    const p = this.send(a).then((d) => {
      if (!d.ok && redeliverIfFailed) this.scheduleRedelivery(d);
      return d;
    });
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
    return p;
  }

  /** Should this event be tried once more if its first attempt fails? Only under a policy, never for a retry. */
  private shouldRedeliverIfFailed(a: Attempt): boolean {
    const policy = this.settings.redeliveryPolicy;
    if (policy === null || a.trigger !== 'event') return false;
    return this.rng.chance(policy.probability);
  }

  private scheduleRedelivery(d: GithubDelivery): void {
    if (this.closed) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.closed) void this.redeliver(d, 'policy');
    }, this.settings.redeliveryPolicy!.afterMs);
    timer.unref();
    this.timers.add(timer);
  }

  private async send(a: Attempt): Promise<GithubDelivery> {
    const { hook } = a;
    const json = JSON.stringify(a.payload);
    const form = hook.config.contentType === 'form';
    const body = form ? `payload=${encodeURIComponent(json)}` : json;
    const headers: Record<string, string> = {
      Accept: '*/*',
      'User-Agent': 'GitHub-Hookshot/fake-ghe',
      'X-GitHub-Delivery': a.guid,
      'X-GitHub-Event': a.event,
      'X-GitHub-Hook-ID': String(hook.id),
      'X-GitHub-Hook-Installation-Target-ID': String(a.repo.id),
      'X-GitHub-Hook-Installation-Target-Type': 'repository',
      'X-GitHub-Enterprise-Version': this.settings.enterpriseVersion,
      'X-GitHub-Enterprise-Host': this.settings.enterpriseHost(),
      'Content-Type': form ? 'application/x-www-form-urlencoded' : 'application/json',
    };
    if (hook.config.secret !== null) {
      const sig = signWebhookBody(body, hook.config.secret);
      headers['X-Hub-Signature'] = sig.sha1;
      headers['X-Hub-Signature-256'] = sig.sha256;
    }
    const deliveredAt = this.state.isoNow();
    const started = performance.now();
    const outcome = this.closed
      ? ({ kind: 'error', status: 'aborted: GitHub Enterprise is shutting down' } as const)
      : await this.post(hook.config.url, headers, body, hook.config.insecureSsl === '1');
    const durationMs = performance.now() - started;
    const base = {
      guid: a.guid,
      hookId: hook.id,
      repoId: a.repo.id,
      repo: fullName(a.repo),
      event: a.event,
      action: a.action,
      url: hook.config.url,
      redelivery: a.redelivery,
      trigger: a.trigger,
      deliveredAt,
      durationMs,
      request: { headers, payload: a.payload, body },
    };
    if (outcome.kind === 'error') {
      return this.state.recordDelivery({ ...base, ok: false, statusCode: 0, status: outcome.status, response: null });
    }
    const ok = outcome.statusCode >= 200 && outcome.statusCode < 300;
    return this.state.recordDelivery({
      ...base,
      ok,
      statusCode: outcome.statusCode,
      status: ok ? 'OK' : `Invalid HTTP Response: ${outcome.statusCode}`,
      response: { headers: outcome.headers, body: outcome.body },
    });
  }

  private post(
    url: string,
    headers: Record<string, string>,
    body: string,
    insecure: boolean,
  ): Promise<{ kind: 'response'; statusCode: number; headers: Record<string, string>; body: string } | { kind: 'error'; status: string }> {
    return new Promise((resolve) => {
      let target: URL;
      try {
        target = new URL(url);
      } catch {
        resolve({ kind: 'error', status: `invalid URL: ${url}` });
        return;
      }
      const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
      let done = false;
      const finish = (r: Parameters<typeof resolve>[0]): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.aborters.delete(abort);
        resolve(r);
      };
      const req = request(target, {
        method: 'POST',
        headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)) },
        ...(target.protocol === 'https:' ? { rejectUnauthorized: !insecure } : {}),
      });
      const abort = (): void => {
        req.destroy();
        finish({ kind: 'error', status: 'aborted: GitHub Enterprise is shutting down' });
      };
      this.aborters.add(abort);
      const timer = setTimeout(() => {
        req.destroy();
        finish({ kind: 'error', status: 'timed out' });
      }, this.settings.timeoutMs);
      req.on('error', (err: NodeJS.ErrnoException) => {
        const refused = err.code === 'ECONNREFUSED' || err.code === 'EHOSTUNREACH' || err.code === 'ENOTFOUND';
        finish({ kind: 'error', status: refused ? 'failed to connect to host' : `failed: ${err.code ?? err.message}` });
      });
      req.on('response', (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          if (size < this.settings.maxResponseBytes) chunks.push(c.subarray(0, this.settings.maxResponseBytes - size));
          size += c.length;
        });
        res.on('error', () => finish({ kind: 'error', status: 'failed: connection reset while reading the response' }));
        res.on('end', () => {
          const h: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h[k] = Array.isArray(v) ? v.join(', ') : v;
          finish({ kind: 'response', statusCode: res.statusCode ?? 0, headers: h, body: Buffer.concat(chunks).toString('utf8') });
        });
      });
      req.end(body);
    });
  }
}
