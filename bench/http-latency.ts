/**
 * Request latency of the twin's own HTTP servers, measured from a client in the same process: a few thousand
 * sequential requests over a keep-alive connection (the global fetch) (after a warm-up), so what is timed is the server's request
 * path (routing, body reading, the answer), not connection set-up. Run: `npx tsx bench/http-latency.ts [count]`.
 * Each endpoint is measured in rounds that alternate, so machine load falls on all alike.
 */
import { Ec2Api } from '../harness/ec2/server.ts';
import { FakeGithub } from '../harness/github/server.ts';

interface Target {
  readonly name: string;
  send(): Promise<number>;
}

const COUNT = Number(process.argv[2] ?? 3000);
const WARMUP = 300;
const ROUNDS = 3;

async function call(url: string, init: { method?: 'GET' | 'POST'; body?: string; headers?: Record<string, string> } = {}): Promise<number> {
  const res = await fetch(url, init);
  await res.arrayBuffer();
  return res.status;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function measure(target: Target, count: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    const status = await target.send();
    times.push(performance.now() - t0);
    if (status >= 500) throw new Error(`${target.name}: answered ${status}`);
  }
  return times;
}

const ec2 = await new Ec2Api().withPort(0).start();
// The rate limit is raised so that thousands of calls stay 200s.
const github = await new FakeGithub().withPort(0).withRateLimit({ limit: 1_000_000, unauthenticatedLimit: 1_000_000 }).start();
const token = github.tokenFor('GERey');
const targets: Target[] = [
  {
    name: 'ec2 POST DescribeInstances',
    send: () =>
      call(ec2.url, {
        method: 'POST',
        body: 'Action=DescribeInstances&Version=2016-11-15',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'AWS4-HMAC-SHA256 Credential=x' },
      }),
  },
  { name: 'github GET /repos/:owner/:repo', send: () => call(`${github.apiUrl}/repos/GERey/realitycheck`, { headers: { authorization: `token ${token}` } }) },
  { name: 'github GET unknown path (404)', send: () => call(`${github.apiUrl}/nope/nope`, { headers: { authorization: `token ${token}` } }) },
];
const samples = new Map<string, number[]>(targets.map((t) => [t.name, []]));
// CPU time of this process (client and server both) per request: on a loaded machine it moves far less than wall time.
const cpuUs = new Map<string, number>(targets.map((t) => [t.name, 0]));
for (const t of targets) await measure(t, WARMUP);
for (let round = 0; round < ROUNDS; round++) {
  for (const t of targets) {
    const cpu0 = process.cpuUsage();
    samples.get(t.name)!.push(...(await measure(t, Math.ceil(COUNT / ROUNDS))));
    const cpu = process.cpuUsage(cpu0);
    cpuUs.set(t.name, cpuUs.get(t.name)! + cpu.user + cpu.system);
  }
}
for (const [name, times] of samples) {
  const sorted = [...times].sort((a, b) => a - b);
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  const cpu = cpuUs.get(name)! / times.length;
  console.log(
    `${name.padEnd(34)} n=${times.length} cpu ${cpu.toFixed(0)} µs/req  mean ${(mean * 1000).toFixed(0)} µs  p50 ${(percentile(sorted, 50) * 1000).toFixed(0)} µs  p99 ${(percentile(sorted, 99) * 1000).toFixed(0)} µs`,
  );
}
await Promise.all([ec2.stop(), github.stop()]);
