import { describe, expect, it } from 'vitest';
import { ClientLiveness, HEARTBEAT_TIMEOUT_MS } from './client-liveness.ts';

/** Liveness on a fake server and a manual clock: `advance(ms)` runs what fell due; `log` lists status changes. */
function setup(opts: { running?: () => boolean; reachable?: () => boolean } = {}) {
  let now = 0;
  const due: { at: number; fn: () => void }[] = [];
  const status = new Map<string, 'ready' | 'down'>(['a', 'b', 'c'].map((id) => [id, 'ready']));
  const deferred: (() => void)[] = [];
  const log: string[] = [];
  const liveness = new ClientLiveness(
    {
      isRunning: opts.running ?? (() => true),
      whenReachable: (op) => ((opts.reachable ?? (() => true))() ? op() : deferred.push(op)),
      isDown: (id) => status.get(id) === 'down',
      setStatus: (id, s) => {
        status.set(id, s);
        log.push(`${now} ${id} ${s}`);
      },
    },
    (ms, fn) => due.push({ at: now + ms, fn }),
  );
  const advance = (ms: number) => {
    now += ms;
    for (const d of due.splice(0).sort((x, y) => x.at - y.at)) if (d.at <= now) d.fn();
    else due.push(d);
  };
  return { liveness, advance, log, deferred, clients: () => ['a', 'b', 'c'].filter((id) => !liveness.isGone(id)) };
}

describe('client liveness', () => {
  it('marks a silent agent down after the heartbeat timeout, not before, and ready again when it is back', () => {
    const { liveness, advance, log } = setup();
    liveness.agentDown('a');
    advance(HEARTBEAT_TIMEOUT_MS - 1);
    expect(log).toEqual([]);
    advance(1);
    expect(log).toEqual([`${HEARTBEAT_TIMEOUT_MS} a down`]);
    expect(liveness.agentsBack(['a', 'b'])).toEqual(['a']);
    expect(log).toEqual([`${HEARTBEAT_TIMEOUT_MS} a down`, `${HEARTBEAT_TIMEOUT_MS} a ready`]);
  });

  it('leaves an agent back within the timeout as it was, and never brings back a terminated instance', () => {
    const { liveness, advance, log } = setup();
    liveness.agentDown('a');
    liveness.terminate('b');
    advance(1_000);
    expect(liveness.agentsBack(['a', 'b'])).toEqual(['a']);
    advance(HEARTBEAT_TIMEOUT_MS);
    expect(log).toEqual([`${HEARTBEAT_TIMEOUT_MS + 1_000} b down`]);
    expect(liveness.isGone('b')).toBe(true);
  });

  it('waits for the server to be reachable before marking down', () => {
    let reachable = false;
    const { liveness, advance, log, deferred } = setup({ reachable: () => reachable });
    liveness.agentDown('c');
    advance(HEARTBEAT_TIMEOUT_MS);
    expect(log).toEqual([]);
    reachable = true;
    for (const op of deferred.splice(0)) op();
    expect(log).toEqual([`${HEARTBEAT_TIMEOUT_MS} c down`]);
  });

  it('a partition marks every client with its agent up down past the timeout, and heal re-registers just those', () => {
    const { liveness, advance, log, clients } = setup();
    liveness.agentDown('a');
    expect(liveness.setPartitioned(true, clients)).toEqual([]);
    expect(liveness.partitioned).toBe(true);
    advance(HEARTBEAT_TIMEOUT_MS);
    expect(log.sort()).toEqual([`${HEARTBEAT_TIMEOUT_MS} a down`, `${HEARTBEAT_TIMEOUT_MS} b down`, `${HEARTBEAT_TIMEOUT_MS} c down`]);
    log.length = 0;
    expect(liveness.setPartitioned(false, clients)).toEqual(['b', 'c']);
    expect(log).toEqual([`${HEARTBEAT_TIMEOUT_MS} b ready`, `${HEARTBEAT_TIMEOUT_MS} c ready`]);
  });

  it('a partition healed within the timeout, or while the server is down, marks nobody down', () => {
    const short = setup();
    short.liveness.setPartitioned(true, short.clients);
    short.advance(1_000);
    short.liveness.setPartitioned(false, short.clients);
    short.advance(HEARTBEAT_TIMEOUT_MS);
    expect(short.log).toEqual([]);
    const serverDown = setup({ running: () => false });
    serverDown.liveness.setPartitioned(true, serverDown.clients);
    serverDown.advance(HEARTBEAT_TIMEOUT_MS);
    expect(serverDown.log).toEqual([]);
  });
});
