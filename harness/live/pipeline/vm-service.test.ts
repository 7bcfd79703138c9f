import { EC2Client, DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { afterEach, describe, expect, it } from 'vitest';
import { Ec2Api, type StartedEc2Api } from '../../ec2/server.ts';
import { scaledClock } from '../../ec2/clock.ts';
import { VmService, VM_STATE_TAG } from './vm-service.ts';

// 1000 scenario ms per wall ms: a 60 s boot takes 60 ms; vm-scaler (hourly here) does not top up during a test.
const SCALE = 1000;

async function setup(preallocated = { machine: 2, remote_docker: 1 }) {
  const ec2Api = await new Ec2Api().withPort(0).withSeed(1).withClock(scaledClock(SCALE)).withTimings({ bootMs: 60_000 }).start();
  const ec2 = new EC2Client({ endpoint: ec2Api.url, region: 'us-east-1', credentials: { accessKeyId: 'twin', secretAccessKey: 'twin' }, maxAttempts: 1 });
  const vm = new VmService({ ec2, preallocated, timeScale: SCALE, scaleIntervalMs: 3_600_000, assignMs: 5_000 });
  return { ec2Api, ec2, vm };
}

const acquire = async (vm: VmService, kind: string) => {
  const r = await fetch(`${vm.url}/vms`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ kind }) });
  return { status: r.status, body: (await r.json()) as { instanceId?: string; preallocated?: boolean; waitMs?: number; error?: string } };
};

async function statesByTag(ec2: EC2Client): Promise<Record<string, string[]>> {
  const r = await ec2.send(new DescribeInstancesCommand({}));
  const out: Record<string, string[]> = {};
  for (const i of (r.Reservations ?? []).flatMap((x) => x.Instances ?? [])) {
    const tag = i.Tags?.find((t) => t.Key === VM_STATE_TAG)?.Value ?? 'untagged';
    (out[`${tag}/${i.State?.Name}`] ??= []).push(i.InstanceId!);
  }
  return out;
}

describe('vm-service on the EC2 endpoint', () => {
  let api: StartedEc2Api | undefined;
  let svc: VmService | undefined;
  afterEach(async () => {
    await svc?.stop();
    await api?.stop();
  });

  it('starts with its pools booted, hands out preallocated instances first, then launches on demand, never reuses', async () => {
    const { ec2Api, ec2, vm } = await setup();
    api = ec2Api;
    svc = vm;
    await vm.start();
    expect((await statesByTag(ec2))['preallocated/running']).toHaveLength(3);
    expect(vm.launched).toBe(0);
    const a = await acquire(vm, 'machine');
    const b = await acquire(vm, 'machine');
    const c = await acquire(vm, 'machine');
    expect([a.body.preallocated, b.body.preallocated, c.body.preallocated]).toEqual([true, true, false]);
    expect(a.body.waitMs).toBeGreaterThanOrEqual(5_000);
    // Launched on demand: it waited for the instance to boot (60 s of scenario time).
    expect(c.body.waitMs).toBeGreaterThanOrEqual(60_000);
    expect(vm.launched).toBe(1);
    expect(vm.preallocatedUsed).toBe(2);
    const del = await fetch(`${vm.url}/vms/${a.body.instanceId}`, { method: 'DELETE' });
    expect(del.status).toBe(200);
    const states = await statesByTag(ec2);
    expect([...(states['assigned/shutting-down'] ?? []), ...(states['assigned/terminated'] ?? [])]).toContain(a.body.instanceId);
    expect((await acquire(vm, 'gpu')).status).toBe(400);
  });

  it('killed, it answers nothing; started again, it finds its waiting instances in EC2 by their tags', async () => {
    const { ec2Api, vm } = await setup({ machine: 2, remote_docker: 0 });
    api = ec2Api;
    svc = vm;
    await vm.start();
    vm.kill();
    await expect(fetch(`${vm.url}/vms`, { method: 'POST', body: '{"kind":"machine"}' })).rejects.toThrow();
    await vm.start();
    const r = await acquire(vm, 'machine');
    expect(r.body.preallocated).toBe(true);
    expect((await fetch(`${vm.url}/healthcheck`)).status).toBe(200);
  });
});
