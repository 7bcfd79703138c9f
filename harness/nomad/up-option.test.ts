import { describe, expect, it } from 'vitest';
import { CliError, parseCliArgs } from '../cli/args.ts';

describe('twin up --nomad', () => {
  it('takes real or twin, and nothing else, on `twin up` only', () => {
    expect(parseCliArgs(['up', '--nomad', 'real']).nomad).toBe('real');
    expect(parseCliArgs(['up', '-d', '--nomad', 'twin'])).toMatchObject({ nomad: 'twin', detach: true });
    expect(parseCliArgs(['up']).nomad).toBeUndefined();
    expect(() => parseCliArgs(['up', '--nomad', 'dev'])).toThrow(CliError);
    expect(() => parseCliArgs(['up', '--nomad', 'dev'])).toThrow('--nomad must be real or twin, got `dev`');
    expect(() => parseCliArgs(['run', 'scenarios/baseline.yaml', '--nomad', 'real'])).toThrow('option --nomad does not apply to `twin run`');
  });
});
