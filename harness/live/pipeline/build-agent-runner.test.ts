import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { BuildAgentRunner } from './build-agent-runner.ts';
import type { TaskContext } from '../../nomad/task-runner.ts';

/** output-processor as the build agent sees it: records each POST's path. */
async function outputProcessor(): Promise<{ url: string; paths: string[]; close(): Promise<void> }> {
  const paths: string[] = [];
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      paths.push(req.url ?? '');
      res.end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, paths, close: () => new Promise((r) => server.close(() => r())) };
}

function task(buildId: number, durationMs: number) {
  const seen: string[] = [];
  const ctx = {
    alloc: { allocId: `a${buildId}`, jobId: `build-${buildId}`, taskGroup: 'build', taskIndex: 0, nodeId: 'n', nodeName: 'node', tasks: [], meta: { build_id: String(buildId), duration_ms: String(durationMs) } },
    clock: undefined as never,
    markRunning: () => seen.push('running'),
    finish: (outcome: string) => seen.push(outcome),
    event: () => undefined,
  } satisfies TaskContext;
  return { ctx, seen };
}

const until = async (cond: () => boolean, ms = 2_000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('BuildAgentRunner across a partition', () => {
  let op: Awaited<ReturnType<typeof outputProcessor>>;
  afterEach(async () => op?.close());

  it('holds the end report of a build that ends during the partition and sends it on heal', async () => {
    op = await outputProcessor();
    const runner = new BuildAgentRunner({ outputProcessorUrl: () => op.url, startDelayMs: 1 });
    const { ctx, seen } = task(1, 30);
    runner.start(ctx);
    await until(() => op.paths.includes('/builds/1/output'));
    runner.setPartitioned(true);
    await new Promise((r) => setTimeout(r, 80));
    expect(op.paths).not.toContain('/builds/1/finish');
    expect(seen).toEqual(['running']);
    expect(runner.heldReports).toBe(1);
    // It was streaming when the network went: the live output of its running steps is lost.
    expect([...runner.interrupted]).toEqual([1]);
    runner.setPartitioned(false);
    await until(() => seen.includes('complete'));
    expect(op.paths).toEqual(['/builds/1/start', '/builds/1/output', '/builds/1/finish']);
    expect(runner.completed).toBe(1);
  });

  it('starts nothing while partitioned, and an allocation stopped meanwhile (lost) sends nothing after the heal', async () => {
    op = await outputProcessor();
    const runner = new BuildAgentRunner({ outputProcessorUrl: () => op.url, startDelayMs: 1 });
    runner.setPartitioned(true);
    const held = task(2, 10);
    const lost = task(3, 10);
    runner.start(held.ctx);
    const running = runner.start(lost.ctx);
    await new Promise((r) => setTimeout(r, 50));
    expect(op.paths).toEqual([]);
    running.stop('lost');
    runner.setPartitioned(false);
    await until(() => held.seen.includes('complete'));
    await new Promise((r) => setTimeout(r, 30));
    expect(op.paths.filter((p) => p.startsWith('/builds/3/'))).toEqual([]);
    expect(lost.seen).toEqual([]);
    expect(op.paths.filter((p) => p.startsWith('/builds/2/'))).toEqual(['/builds/2/start', '/builds/2/output', '/builds/2/finish']);
  });

  it('a client whose agent is down holds its reports until it is back; a terminated one reports nothing, ever', async () => {
    op = await outputProcessor();
    const runner = new BuildAgentRunner({ outputProcessorUrl: () => op.url, startDelayMs: 1 });
    const a = task(4, 20);
    const b = { ...task(5, 20) };
    const bCtx = { ...b.ctx, alloc: { ...b.ctx.alloc, nodeId: 'm' } };
    runner.start(a.ctx);
    runner.start(bCtx);
    await until(() => op.paths.includes('/builds/4/output') && op.paths.includes('/builds/5/output'));
    runner.setAgentDown('n', true);
    runner.terminate('m');
    await new Promise((r) => setTimeout(r, 60));
    expect(a.seen).toEqual(['running']);
    runner.setAgentDown('n', false);
    await until(() => a.seen.includes('complete'));
    expect(op.paths).toContain('/builds/4/finish');
    expect(op.paths).not.toContain('/builds/5/finish');
    expect(b.seen).toEqual(['running']);
    // Nothing placed on the terminated instance starts.
    const late = task(6, 5);
    runner.start({ ...late.ctx, alloc: { ...late.ctx.alloc, nodeId: 'm' } });
    await new Promise((r) => setTimeout(r, 30));
    expect(late.seen).toEqual([]);
    expect(runner.interrupted.size).toBe(0);
  });
});

describe('BuildAgentRunner durations', () => {
  let op: Awaited<ReturnType<typeof outputProcessor>>;
  afterEach(async () => op?.close());

  it("runs each container for its own job's duration (one Nomad job per container, each with its duration_ms)", async () => {
    op = await outputProcessor();
    const runner = new BuildAgentRunner({ outputProcessorUrl: () => op.url, startDelayMs: 1 });
    const tasks = [0, 1].map((k) => {
      const t = task(7, 10);
      t.ctx.alloc.jobId = `build-7-${k}`;
      t.ctx.alloc.allocId = `a7-${k}`;
      Object.assign(t.ctx.alloc.meta, { duration_ms: k === 0 ? '10000' : '10', parallel_index: String(k), parallelism: '2' });
      return { ...t, running: runner.start(t.ctx) };
    });
    // Container 1 runs 10 ms and container 0 ten seconds.
    await until(() => tasks[1]!.seen.includes('complete'));
    await new Promise((r) => setTimeout(r, 100));
    expect(tasks[0]!.seen).toEqual(['running']);
    tasks[0]!.running.stop('shutdown');
  });
});

describe('BuildAgentRunner with output-processor refusing', () => {
  it('counts every POST output-processor answers with a non-2xx status as failed, and still ends the allocation', async () => {
    const server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.statusCode = 500;
        res.end('{"error":"postgres down"}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const runner = new BuildAgentRunner({ outputProcessorUrl: () => `http://127.0.0.1:${(server.address() as AddressInfo).port}`, startDelayMs: 0 });
      const { ctx, seen } = task(7, 10);
      runner.start(ctx);
      await until(() => seen.includes('complete'));
      // start, output and finish: each sent, each refused.
      expect(runner.posts).toBe(3);
      expect(runner.postFailures).toBe(3);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});

describe('BuildAgentRunner with output-processor unreachable', () => {
  let op: Awaited<ReturnType<typeof outputProcessor>> | undefined;
  afterEach(async () => op?.close());

  it("writes the seeds' gRPC warning to the allocation's stderr for each call that got no answer, and none when it answers", async () => {
    // A port nothing listens on: output-processor is down.
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((r) => closed.close(r));
    const runner = new BuildAgentRunner({ outputProcessorUrl: () => url, startDelayMs: 0 });
    const { ctx, seen } = task(8, 10);
    const stderr: string[] = [];
    runner.start({ ...ctx, log: (stream, text) => void (stream === 'stderr' && stderr.push(text)) });
    await until(() => seen.includes('complete'));
    expect(stderr).toHaveLength(3);
    for (const line of stderr) expect(line).toMatch(/^\{"error":"rpc error: code = Unavailable desc = grpc: the connection is unavailable","level":"warning","msg":"error fetching config, retrying","time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"\}\n$/);

    const up = (op = await outputProcessor());
    const answered = task(9, 10);
    const quiet: string[] = [];
    new BuildAgentRunner({ outputProcessorUrl: () => up.url, startDelayMs: 0 }).start({ ...answered.ctx, log: (stream, text) => void (stream === 'stderr' && quiet.push(text)) });
    await until(() => answered.seen.includes('complete'));
    expect(quiet).toEqual([]);
  });
});

describe('BuildAgentRunner on a drill installation\'s clock', () => {
  it('stamps its gRPC warning with the clock it is given (the installation\'s), not the wall\'s', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((r) => closed.close(r));
    const runner = new BuildAgentRunner({ outputProcessorUrl: () => url, startDelayMs: 0 });
    const at: number[] = [];
    runner.useLogClock((epochMs) => (at.push(epochMs), '2026-01-05T08:40:00'));
    const { ctx, seen } = task(10, 10);
    const stderr: string[] = [];
    runner.start({ ...ctx, log: (stream, text) => void (stream === 'stderr' && stderr.push(text)) });
    await until(() => seen.includes('complete'));
    expect(stderr.length).toBeGreaterThan(0);
    for (const line of stderr) expect(line).toContain('"time":"2026-01-05T08:40:00Z"');
    // Asked with the instant each line was written.
    expect(at.every((t) => Math.abs(t - Date.now()) < 60_000)).toBe(true);
  });
});
