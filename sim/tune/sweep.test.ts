import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { checkAxes, checkRuns, gridCells, gridSize, parseSweep, randomCells, splitValues, type SweepAxis } from './sweep.ts';
import { TUNE_LIMITS, TuneInputError } from './tune-input-error.ts';

const axis = (key: string, n: number): SweepAxis => ({ key, values: Array.from({ length: n }, (_, i) => i) });

describe('parseSweep', () => {
  it('reads each value as YAML: numbers, texts, flow mappings, quoted commas', () => {
    expect(parseSweep('topology.nomad_clients.count=4,8,12')).toEqual({ key: 'topology.nomad_clients.count', values: [4, 8, 12] });
    expect(parseSweep('topology.scheduler=binpack, spread').values).toEqual(['binpack', 'spread']);
    expect(parseSweep('autoscaling.boot_time={median: 3m, p95: 5m},90s').values).toEqual([{ median: '3m', p95: '5m' }, '90s']);
    expect(parseSweep('autoscaling.policies.0.cron="0 8 * * 1-5","0 7 * * 1-5"').values).toEqual(['0 8 * * 1-5', '0 7 * * 1-5']);
    expect(splitValues('a,"b,c",[1,2],{x: 1, y: 2}')).toEqual(['a', '"b,c"', '[1,2]', '{x: 1, y: 2}']);
  });

  it('says what is wrong with a malformed sweep', () => {
    expect(() => parseSweep('count')).toThrow(/--sweep count: expected key=v1,v2/);
    expect(() => parseSweep('=1,2')).toThrow(TuneInputError);
    expect(() => parseSweep('topology..count=1')).toThrow(/not a dotted path/);
    expect(() => parseSweep('a.b=1,,2')).toThrow(/an empty value/);
    expect(() => parseSweep('a.b=1,2,1')).toThrow(/the value 1 is given twice/);
    expect(() => parseSweep('a.b={x: 1')).toThrow(/is not a YAML value/);
  });

  it('bounds the values of one key at max_sweep_values', () => {
    const n = TUNE_LIMITS.valuesPerSweep.value;
    expect(parseSweep(`a.b=${Array.from({ length: n }, (_, i) => i).join(',')}`).values).toHaveLength(n);
    expect(() => parseSweep(`a.b=${Array.from({ length: n + 1 }, (_, i) => i).join(',')}`)).toThrow(/max_sweep_values/);
  });

  it('refuses no axes, a key swept twice and a key inside another', () => {
    expect(() => checkAxes([])).toThrow(/nothing to sweep/);
    expect(() => checkAxes([axis('a.b', 2), axis('a.b', 3)])).toThrow(/--sweep a.b is given twice/);
    expect(() => checkAxes([axis('autoscaling', 2), axis('autoscaling.min', 3)])).toThrow(/lies inside another swept key \(autoscaling\)/);
    expect(() => checkAxes([axis('autoscaling.min', 2), axis('autoscaling.max', 3)])).not.toThrow();
  });
});

describe('gridCells', () => {
  it('lists every combination, the last key varying fastest', () => {
    const cells = gridCells([{ key: 'a', values: [1, 2] }, { key: 'b', values: ['x', 'y', 'z'] }]);
    expect(cells).toEqual([
      { a: 1, b: 'x' }, { a: 1, b: 'y' }, { a: 1, b: 'z' },
      { a: 2, b: 'x' }, { a: 2, b: 'y' }, { a: 2, b: 'z' },
    ]);
  });

  it('bounds the grid at max_tune_cells: at the limit it runs, one past it is refused with a hint to sample', () => {
    expect(gridCells([axis('a', 100), axis('b', 100)])).toHaveLength(TUNE_LIMITS.cells.value);
    expect(() => gridCells([axis('a', 100), axis('b', 100), axis('c', 2)])).toThrow(/20000 cells, more than max_tune_cells \(10000\)/);
  });
});

describe('randomCells', () => {
  it('draws distinct cells of the grid, in grid order, the same for the same seed', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 4 }), fc.integer({ min: 1, max: 40 }), fc.nat(), (sizes, samples, seed) => {
        const axes = sizes.map((n, i) => axis(`k${i}`, n));
        const grid = gridCells(axes).map((c) => JSON.stringify(c));
        const drawn = randomCells(axes, samples, seed).map((c) => JSON.stringify(c));
        expect(drawn).toHaveLength(Math.min(samples, gridSize(axes)));
        expect(new Set(drawn).size).toBe(drawn.length);
        const at = drawn.map((d) => grid.indexOf(d));
        expect(at.every((i) => i >= 0)).toBe(true);
        expect(at).toEqual([...at].sort((a, b) => a - b));
        expect(randomCells(axes, samples, seed).map((c) => JSON.stringify(c))).toEqual(drawn);
      }),
    );
  });

  it('draws different cells for different seeds, and from a huge grid without listing it', () => {
    const axes = [axis('a', 1000), axis('b', 1000), axis('c', 1000)];
    const one = randomCells(axes, 5, 1);
    expect(one).toHaveLength(5);
    expect(randomCells(axes, 5, 2)).not.toEqual(one);
    expect(() => randomCells(axes, TUNE_LIMITS.cells.value + 1, 1)).toThrow(/max_tune_cells/);
  });

  it('spreads its draws over the grid (each of 10 cells drawn about equally often over many seeds)', () => {
    const counts = new Array<number>(10).fill(0);
    for (let seed = 0; seed < 2000; seed++) for (const c of randomCells([axis('a', 10)], 3, seed)) counts[c.a as number]!++;
    // 6000 draws over 10 cells: 600 each expected; a fair draw stays well within ±100.
    for (const n of counts) expect(Math.abs(n - 600)).toBeLessThan(100);
  });
});

describe('checkRuns', () => {
  it('bounds cells × replications at max_tune_runs: at the limit it passes, one past it is refused', () => {
    expect(() => checkRuns(10_000, 10)).not.toThrow();
    expect(() => checkRuns(100_001, 1)).toThrow(/100001 runs, more than max_tune_runs \(100000\)/);
    expect(() => checkRuns(10_000, 11)).toThrow(/10000 cells × 11 replications = 110000 runs/);
  });
});
