import { describe, expect, it } from 'vitest';
import { meets, parseTargets, targetText } from './targets.ts';
import { TUNE_LIMITS } from './tune-input-error.ts';

describe('parseTargets', () => {
  it('reads metric, comparison and bound, across commas and flags', () => {
    expect(parseTargets(['p95_queue_s<=1,builds_lost<=0', 'cost_per_day < 500.5'])).toEqual([
      { metric: 'p95_queue_s', op: '<=', value: 1 },
      { metric: 'builds_lost', op: '<=', value: 0 },
      { metric: 'cost_per_day', op: '<', value: 500.5 },
    ]);
    expect(parseTargets([])).toEqual([]);
    expect(targetText({ metric: 'utilisation', op: '>=', value: 0.5 })).toBe('utilisation>=0.5');
  });

  it('names a bad target and lists the metrics', () => {
    expect(() => parseTargets(['p95_queue<=1'])).toThrow(/unknown metric `p95_queue`; did you mean `p95_queue_s`\?/);
    expect(() => parseTargets(['p95_queue_s=1'])).toThrow(/`p95_queue_s=1` is not metric<=number/);
    expect(() => parseTargets(['p95_queue_s<=1s'])).toThrow(/is not metric<=number/);
    expect(() => parseTargets(['p95_queue_s<=1,p95_queue_s<=2'])).toThrow(/given twice/);
    const hint = (() => {
      try {
        parseTargets(['nope<1']);
      } catch (e) {
        return (e as { hint: string }).hint;
      }
      return 'accepted';
    })();
    expect(hint).toContain('p95_queue_s, p99_queue_s');
  });

  it('bounds the targets at max_targets', () => {
    const ops = ['<=', '<', '>=', '>'];
    const many = (n: number) => Array.from({ length: n }, (_, i) => `${['p50_queue_s', 'p95_queue_s', 'p99_queue_s', 'mean_queue_s', 'max_queue_s', 'cost_per_day'][i % 6]}${ops[Math.floor(i / 6)]}1`);
    expect(parseTargets([many(TUNE_LIMITS.targets.value).join(',')])).toHaveLength(20);
    expect(() => parseTargets([many(TUNE_LIMITS.targets.value + 1).join(',')])).toThrow(/max_targets/);
  });
});

describe('meets', () => {
  it('compares as written, bounds included only where the comparison says', () => {
    expect(meets(1, { op: '<=', value: 1 })).toBe(true);
    expect(meets(1, { op: '<', value: 1 })).toBe(false);
    expect(meets(1, { op: '>=', value: 1 })).toBe(true);
    expect(meets(1, { op: '>', value: 1 })).toBe(false);
    expect(meets(0.9, { op: '<', value: 1 })).toBe(true);
    expect(meets(1.1, { op: '>', value: 1 })).toBe(true);
  });
});
