import { CreateTagsCommand, DescribeImagesCommand, DescribeInstancesCommand, RunInstancesCommand, TerminateInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { sendJson as send, type HttpRequest, type HttpRoutes } from '../../http/index.ts';
import { HttpService } from './http-util.ts';

/** What a build asks vm-service for: a `machine` executor or a remote Docker engine. */
export type VmKind = 'machine' | 'remote_docker';
const KINDS: readonly VmKind[] = ['machine', 'remote_docker'];

/** Tags vm-service puts on its instances: which pool, and whether it waits in it or serves a build. */
export const VM_KIND_TAG = 'vm-service:kind';
export const VM_STATE_TAG = 'vm-service:state';

export interface VmServiceOptions {
  /** The EC2 API (the twin's endpoint, LocalStack or AWS) through the real SDK client. */
  ec2: EC2Client;
  /** Instances kept booted and waiting, per kind (the scenario's `vm_service.preallocated_*`). */
  preallocated: Readonly<Record<VmKind, number>>;
  /** Virtual ms per wall ms: waits are reported in the scenario's time. */
  timeScale: number;
  /** vm-scaler's loop and the handing over of a preallocated instance, in the scenario's ms. */
  scaleIntervalMs: number;
  assignMs: number;
  port?: number;
  /**
   * A vm-service started again in a new process (its worker was killed): it serves at once and leaves the topping
   * up to vm-scaler, as the same object's second `start()` does.
   */
  restarted?: boolean;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * vm-service with vm-scaler, on EC2: `POST /vms` (`{ kind }`) answers with an instance for the build: a preallocated
 * one when one waits (handed over in `assignMs`), else one launched with RunInstances and answered once
 * DescribeInstances shows it running (its boot time is the EC2 endpoint's). `DELETE /vms/:id` terminates it
 * (instances are never reused). vm-scaler tops the pools back up every `scaleIntervalMs`. The pools live in EC2
 * as tags, so a vm-service that restarts finds its waiting instances again. `GET /status` (the profile's documented
 * path; `/healthcheck` and `/health` too) answers 200, or 500 when EC2 does not answer.
 */
export class VmService extends HttpService {
  private imageId: string | undefined;
  private readonly pool: Record<VmKind, string[]> = { machine: [], remote_docker: [] };
  private readonly booting: Record<VmKind, number> = { machine: 0, remote_docker: 0 };
  private scaler: NodeJS.Timeout | null = null;
  private running = false;
  private started = false;
  /** Instances launched after the first start (the run starts in steady state, its pools full), and so on. */
  launched = 0;
  terminated = 0;
  preallocatedUsed = 0;
  /** Each build's wait for its instance, in the scenario's ms. */
  readonly waits: number[] = [];

  constructor(private readonly opts: VmServiceOptions) {
    super('vm-service', opts.port);
    this.started = opts.restarted ?? false;
  }

  /**
   * Listens and finds the pools' instances in EC2. The first start fills the pools and resolves when the
   * preallocated instances run (steady state, not counted as launched); a restart serves at once and leaves the
   * topping up to vm-scaler.
   */
  override async start(): Promise<void> {
    this.running = true;
    await super.start();
    await this.adoptPools();
    if (this.started) void this.scale().catch(() => undefined);
    else {
      await this.scale();
      this.launched = 0;
      this.started = true;
    }
    this.scaler = setInterval(() => void this.scale().catch(() => undefined), Math.max(50, this.opts.scaleIntervalMs / this.opts.timeScale));
    this.scaler.unref();
  }

  override async stop(): Promise<void> {
    this.halt();
    await super.stop();
  }

  override kill(): void {
    this.halt();
    super.kill();
  }

  private halt(): void {
    this.running = false;
    if (this.scaler !== null) clearInterval(this.scaler);
    this.scaler = null;
  }

  protected routes(routes: HttpRoutes): HttpRoutes {
    return routes
      .get('/health', (r) => this.health(r))
      // The profile's documented health path (port 3001).
      .get('/status', (r) => this.health(r))
      .get('/healthcheck', (r) => this.health(r))
      .post('/vms', (r) => this.provide(r))
      .delete('/vms/:id(^i-[0-9a-f]+$)', (r) => this.release(r));
  }

  private async health({ res }: HttpRequest): Promise<void> {
    const ok = await this.opts.ec2.send(new DescribeImagesCommand({ MaxResults: 5 })).then(() => true, () => false);
    return send(res, ok ? 200 : 500, ok ? { ok: true } : { error: 'ec2 does not answer' });
  }

  private async provide(r: HttpRequest): Promise<void> {
    const { res } = r;
    const body = ((await r.json()) ?? {}) as { kind?: unknown };
    if (!KINDS.includes(body.kind as VmKind)) return send(res, 400, { error: `kind must be one of ${KINDS.join(', ')}` });
    try {
      return send(res, 200, await this.acquire(body.kind as VmKind));
    } catch (err) {
      return send(res, 503, { error: `ec2: ${err instanceof Error ? err.message : String(err)}` });
    }
  }

  private async release({ res, params }: HttpRequest): Promise<void> {
    const id = params.id ?? '';
    await this.opts.ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    this.terminated++;
    return send(res, 200, { terminated: id });
  }

  private async acquire(kind: VmKind): Promise<{ instanceId: string; preallocated: boolean; waitMs: number }> {
    const t0 = Date.now();
    const waiting = this.pool[kind].shift();
    if (waiting !== undefined) {
      this.preallocatedUsed++;
      await this.opts.ec2.send(new CreateTagsCommand({ Resources: [waiting], Tags: [{ Key: VM_STATE_TAG, Value: 'assigned' }] }));
      await sleep(this.opts.assignMs / this.opts.timeScale);
      return { instanceId: waiting, preallocated: true, waitMs: this.waited(t0) };
    }
    const [id] = await this.launch(kind, 1, 'assigned');
    await this.untilRunning([id!]);
    return { instanceId: id!, preallocated: false, waitMs: this.waited(t0) };
  }

  private waited(t0: number): number {
    const ms = Math.round((Date.now() - t0) * this.opts.timeScale);
    this.waits.push(ms);
    return ms;
  }

  private async launch(kind: VmKind, count: number, state: 'preallocated' | 'assigned'): Promise<string[]> {
    this.imageId ??= (await this.opts.ec2.send(new DescribeImagesCommand({}))).Images?.[0]?.ImageId;
    if (this.imageId === undefined) throw new Error('no image to launch from');
    const r = await this.opts.ec2.send(
      new RunInstancesCommand({
        ImageId: this.imageId,
        InstanceType: kind === 'machine' ? 'm5.large' : 'm5.xlarge',
        MinCount: count,
        MaxCount: count,
        TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: VM_KIND_TAG, Value: kind }, { Key: VM_STATE_TAG, Value: state }] }],
      }),
    );
    this.launched += count;
    return (r.Instances ?? []).map((i) => i.InstanceId!);
  }

  /** Polls DescribeInstances until every instance runs (about ten looks per boot). */
  private async untilRunning(ids: string[]): Promise<void> {
    for (;;) {
      const r = await this.opts.ec2.send(new DescribeInstancesCommand({ InstanceIds: ids }));
      const states = (r.Reservations ?? []).flatMap((res) => res.Instances ?? []).map((i) => i.State?.Name);
      if (states.length === ids.length && states.every((s) => s === 'running')) return;
      if (states.some((s) => s === 'terminated' || s === 'shutting-down')) throw new Error(`instance ${ids.join(', ')} ended while booting`);
      await sleep(Math.max(10, 6_000 / this.opts.timeScale));
    }
  }

  /** vm-scaler: launches what each pool lacks and adds the instances to it once they run. */
  private async scale(): Promise<void> {
    await Promise.all(
      KINDS.map(async (kind) => {
        const deficit = this.opts.preallocated[kind] - this.pool[kind].length - this.booting[kind];
        if (deficit <= 0 || !this.running) return;
        this.booting[kind] += deficit;
        try {
          const ids = await this.launch(kind, deficit, 'preallocated');
          await this.untilRunning(ids);
          if (this.running) this.pool[kind].push(...ids);
        } finally {
          this.booting[kind] -= deficit;
        }
      }),
    );
  }

  /** The pools as EC2 has them: instances tagged preallocated, running or still booting. */
  private async adoptPools(): Promise<void> {
    const r = await this.opts.ec2.send(
      new DescribeInstancesCommand({ Filters: [{ Name: `tag:${VM_STATE_TAG}`, Values: ['preallocated'] }, { Name: 'instance-state-name', Values: ['pending', 'running'] }] }),
    );
    for (const kind of KINDS) this.pool[kind] = [];
    for (const i of (r.Reservations ?? []).flatMap((res) => res.Instances ?? [])) {
      const kind = i.Tags?.find((t) => t.Key === VM_KIND_TAG)?.Value as VmKind | undefined;
      if (kind !== undefined && KINDS.includes(kind) && i.InstanceId !== undefined && i.State?.Name === 'running') this.pool[kind].push(i.InstanceId);
    }
  }
}
