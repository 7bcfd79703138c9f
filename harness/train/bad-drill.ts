import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DRILLS_DIR, loadDrill } from './drills.ts';
import { ScenarioError } from '../../sim/scenario/parse.ts';

/**
 * For tests of drill validation: a shipped drill's text, edited, written to a temporary `bad.yaml` (its installation
 * path made absolute), and the ScenarioError loading it throws; throws if the drill is accepted.
 */
export function badDrill(base: string, edit: (text: string) => string): ScenarioError {
  const dir = mkdtempSync(join(tmpdir(), 'twin-drill-'));
  const file = join(dir, 'bad.yaml');
  const text = readFileSync(join(DRILLS_DIR, `${base}.yaml`), 'utf8').replace('../../scenarios/training/', `${join(process.cwd(), 'scenarios/training')}/`);
  writeFileSync(file, edit(text));
  try {
    loadDrill(file);
  } catch (e) {
    if (e instanceof ScenarioError) return e;
    throw e;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  throw new Error('the drill was accepted');
}
