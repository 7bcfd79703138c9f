/**
 * telegraf's series on real processes: nomad-metrics (the shared health thread) polls an HTTP Nomad API and sends
 * its gauges over real UDP (port 29000 + 8125) to telegraf, which writes what it got at each flush. Killing
 * nomad-metrics, hanging telegraf, killing telegraf: each leaves the gap in the recorded series that
 * `sim/symptoms/gauge-gaps.ts` then finds, where it happened and nowhere else.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { gaugeGaps, type GaugeGap } from '../../sim/symptoms/gauge-gaps.ts';
import { HealthServiceHost } from './health-host.ts';

const PORT_OFFSET = 29_000;
const POLL_MS = 200;
const PERIOD_MS = 3 * POLL_MS;
/** Each phase lasts this long (wall ms): several flushes. */
const PHASE_MS = 3_000;

const nomad = http.createServer((req, res) => {
  res.writeHead(req.url === '/v1/jobs' || req.url === '/v1/nodes' ? 200 : 404, { 'content-type': 'application/json' });
  res.end(req.url === '/v1/jobs' ? '[{"ID":"build-1","Status":"pending"}]' : '[]');
});
afterAll(() => new Promise<void>((r) => nomad.close(() => r())));

describe('telegraf\'s series on the live stack\'s processes', () => {
  it('has a gap where nomad-metrics was killed, where telegraf hung and after it was killed, and none elsewhere', async () => {
    await new Promise<void>((r) => nomad.listen(0, '127.0.0.1', r));
    const nomadUrl = `http://127.0.0.1:${(nomad.address() as AddressInfo).port}`;
    const flushes: { atMs: number; names: readonly string[] }[] = [];
    const host = new HealthServiceHost(undefined, (atMs, names) => flushes.push({ atMs, names }));
    const statsdPort = PORT_OFFSET + 8125;
    const telegraf = await host.start({ name: 'telegraf', port: 0, healthPath: '/health', dependencies: [], role: { kind: 'telegraf', udpPort: statsdPort, seriesMs: PERIOD_MS } });
    const metrics = () => host.start({ name: 'nomad-metrics', port: 0, healthPath: '/health', dependencies: [], role: { kind: 'nomad-metrics', nomadUrl, statsdPort, intervalMs: POLL_MS } });
    let nm = await metrics();
    const wait = () => new Promise((r) => setTimeout(r, PHASE_MS));
    const t0 = Date.now();
    const at: Record<string, number> = {};
    await wait();
    at.killMetrics = Date.now();
    await nm.terminate();
    await wait();
    nm = await metrics();
    at.metricsBack = Date.now();
    await wait();
    at.pause = Date.now();
    telegraf.postMessage('pause');
    await wait();
    telegraf.postMessage('unpause');
    at.unpause = Date.now();
    await wait();
    at.killTelegraf = Date.now();
    await telegraf.terminate();
    await wait();
    const end = Date.now();
    await nm.terminate();
    const rel = (ms: number) => ms - t0;
    const gaps = gaugeGaps(flushes.map((f) => ({ atMs: rel(f.atMs), names: f.names })), { periodMs: PERIOD_MS, flushMs: POLL_MS, fromMs: PERIOD_MS, toMs: rel(end) });
    console.info(`gaps: ${JSON.stringify(gaps)} at ${JSON.stringify(Object.fromEntries(Object.entries(at).map(([k, v]) => [k, rel(v)])))}`);
    expect(flushes.some((f) => f.names.includes('circle.nomad.server_agent.jobs.pending'))).toBe(true);
    // Each gap lies within its outage (a flush period of slack either side), and covers most of it.
    const within = (g: GaugeGap | undefined, from: number, to: number) => {
      expect(g, JSON.stringify(gaps)).toBeDefined();
      expect(g!.fromMs).toBeGreaterThanOrEqual(rel(from) - PERIOD_MS);
      expect(g!.toMs).toBeLessThanOrEqual(rel(to) + PERIOD_MS);
      expect(g!.toMs - g!.fromMs).toBeGreaterThanOrEqual(to - from - 2 * PERIOD_MS);
    };
    const nomadGaps = gaps.filter((g) => g.container === 'nomad-metrics');
    const telegrafGaps = gaps.filter((g) => g.container === 'telegraf');
    expect(nomadGaps).toHaveLength(1);
    within(nomadGaps[0], at.killMetrics, at.metricsBack);
    expect(telegrafGaps).toHaveLength(2);
    within(telegrafGaps[0], at.pause, at.unpause);
    within(telegrafGaps[1], at.killTelegraf, end);
  }, 60_000);
});
