import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Telegraf } from './telegraf.ts';

const NAME = 'circle.nomad.client_agent.resources.used.cpu';

type Step = { kind: 'set'; value: number } | { kind: 'release' } | { kind: 'flush' } | { kind: 'telegraf'; up: boolean };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), value: fc.integer({ min: -3, max: 3 }) }),
  fc.constant({ kind: 'release' as const }),
  fc.constant({ kind: 'flush' as const }),
  fc.record({ kind: fc.constant('telegraf' as const), up: fc.boolean() }),
);

describe('Telegraf.held', () => {
  it('summarises as a gauge re-sent before every flush while held', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        // The reference: a sender that sends the value it holds before each flush, as nomad-metrics does.
        const sent = new Telegraf([NAME]);
        const held = new Telegraf([NAME]);
        const g = held.held(NAME, 'host:a');
        let holding: number | undefined;
        for (const s of steps) {
          if (s.kind === 'set') {
            g.set(s.value);
            holding = s.value;
          } else if (s.kind === 'release') {
            g.release();
            holding = undefined;
          } else if (s.kind === 'telegraf') {
            sent.up = s.up;
            held.up = s.up;
          } else {
            if (holding !== undefined) sent.gauge(NAME, holding);
            sent.flush(0);
            held.flush(0);
          }
        }
        expect(held.summaries()[`${NAME}#host:a`]).toEqual(sent.summaries()[NAME]);
      }),
    );
  });

  it('keys a tagged series apart from the untagged one and from other tags', () => {
    const t = new Telegraf([NAME]);
    t.held(NAME).set(5);
    t.held(NAME, 'host:a').set(2);
    t.held(NAME, 'host:b').set(3);
    t.flush(10_000);
    t.held(NAME, 'host:a').set(4);
    t.flush(20_000);
    const s = t.summaries();
    expect(Object.keys(s)).toEqual([NAME, `${NAME}#host:a`, `${NAME}#host:b`]);
    expect(s[`${NAME}#host:a`]).toMatchObject({ samples: 2, min: 2, max: 4, last: 4, mean: 3 });
    expect(s[`${NAME}#host:b`]).toMatchObject({ samples: 2, last: 3 });
  });

  it('drops names the version does not document, as received ones', () => {
    const t = new Telegraf(['circle.other']);
    t.held(NAME, 'host:a').set(1);
    t.flush(10_000);
    expect(t.summaries()).toEqual({});
    expect([...t.undocumented]).toEqual([NAME]);
  });

  it('refuses a held gauge and a received series under one name', () => {
    const t = new Telegraf([NAME]);
    t.gauge(NAME, 1);
    expect(() => t.held(NAME)).toThrow(/already a received series/);
    const u = new Telegraf([NAME]);
    u.held(NAME);
    expect(() => u.gauge(NAME, 1)).toThrow(/is a held gauge/);
  });
});
