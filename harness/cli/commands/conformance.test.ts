import { describe, expect, it } from 'vitest';
import { matrixLines } from './conformance.ts';
import type { ConformanceRow } from '../../../sim/conformance/conformance.ts';

const row = (patch: Partial<ConformanceRow>): ConformanceRow => ({
  container: 'exim',
  condition: 'default',
  documented: 'mild',
  observed: 'mild',
  match: true,
  effect: { views: ['email'], seen: true },
  symptoms: [],
  observations: ['no build affected, nothing lost'],
  file: 'f.yaml',
  replay: 'twin run f.yaml --seed 1',
  ...patch,
});

describe('twin conformance matrix lines', () => {
  it('says why a row fails: the first observation for a severity mismatch, the unseen effect otherwise', () => {
    const lines = matrixLines([
      row({}),
      row({ match: false, effect: { views: ['email'], seen: false } }),
      row({ container: 'api-service', documented: 'severe', observed: 'moderate', match: false, effect: { views: ['ui'], seen: true }, observations: ['240 UI/API requests failed'] }),
    ]);
    expect(lines).toEqual([
      '✅ exim (default)         documented mild     observed mild',
      '❌ exim (default)         documented mild     observed mild: documented effect (email) not seen',
      '❌ api-service (default)  documented severe   observed moderate: 240 UI/API requests failed',
    ]);
  });
});
