import type { World } from '../world.ts';

/** A kind of request people make to CircleCI's UI and API, and what must be up to serve it. */
export interface RequestKind {
  name: string;
  needs: readonly string[];
}

/**
 * Users of the web app and the API, as a steady stream of requests (one of each kind a minute). Each kind
 * fails while any service it needs is down, which is how "the UI will not work", "some REST API calls may
 * fail" and "all logins will fail" show up in a report. slanger's live updates are not requests: when it is
 * down "hard refreshes will still work".
 */
export class UiTraffic {
  readonly kinds: readonly RequestKind[];
  requests = 0;
  failed = 0;
  readonly failedByKind = new Map<string, number>();
  /** Receives each failed request with the service it needed that was down, when set: the symptoms observer. */
  onFailure: ((kind: string, down: string, atMs: number) => void) | undefined;

  constructor(private readonly world: World) {
    const ldap = world.scenario.topology.auth === 'ldap';
    this.kinds = [
      { name: 'builds page', needs: ['frontend', 'postgres', 'mongo'] },
      { name: 'REST API: build details', needs: ['frontend', 'mongo', 'domain-service', 'permissions-service'] },
      { name: 'GraphQL: contexts and settings', needs: ['frontend', 'api-service', 'domain-service', 'contexts-service', 'postgres'] },
      { name: 'workflows view', needs: ['frontend', 'workflows-conductor', 'postgres'] },
      { name: 'login', needs: ldap ? ['frontend', 'federation-service', 'postgres'] : ['frontend', 'postgres'] },
    ];
  }

  /** One minute's requests. */
  readonly tick = (): void => {
    const { services } = this.world;
    for (const k of this.kinds) {
      this.requests++;
      const down = services.firstDown(k.needs);
      if (down !== undefined) {
        this.failed++;
        this.onFailure?.(k.name, down, this.world.sim.nowMs);
        this.failedByKind.set(k.name, (this.failedByKind.get(k.name) ?? 0) + 1);
      }
    }
  };

  static readonly intervalMs = 60_000;
}
