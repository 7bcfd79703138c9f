import { describe, expect, it } from 'vitest';
import { parseCliArgs } from '../cli/args.ts';
import { backendChoices, parseBackendChoices } from './backend-choice.ts';

describe('backend choices (--backend, TWIN_BACKEND)', () => {
  it('a bare kind sets every component that has that backend; LDAP has no embedded one and keeps auto', () => {
    expect(parseBackendChoices(['embedded'], '--backend')).toEqual({ postgres: 'embedded', redis: 'embedded', rabbitmq: 'embedded', mongo: 'embedded', s3: 'embedded', fileserved: 'embedded' });
    expect(parseBackendChoices(['local'], '--backend')).toEqual({ postgres: 'local', redis: 'local', rabbitmq: 'local', mongo: 'local', ldap: 'local' });
  });

  it('per component, comma-separated or repeated, later entries winning', () => {
    expect(parseBackendChoices(['embedded,postgres=local', 'rabbitmq=auto'], '--backend')).toMatchObject({ postgres: 'local', redis: 'embedded', rabbitmq: 'auto' });
  });

  it('names what is wrong, with a suggestion and the components or backends there are', () => {
    expect(() => parseBackendChoices(['rabbit=embedded'], '--backend')).toThrow(/--backend: unknown component `rabbit`; did you mean `rabbitmq`\?/);
    expect(() => parseBackendChoices(['embeded'], '--backend')).toThrow(/unknown backend `embeded`; did you mean `embedded`\?/);
    expect(() => parseBackendChoices(['ldap=embedded'], '--backend')).toThrow(/ldap has no `embedded` backend/);
    try {
      parseBackendChoices(['ldap=embedded'], '--backend');
    } catch (e) {
      expect((e as { hint: string }).hint).toBe('ldap backends: auto, local, external');
    }
  });

  it('TWIN_BACKEND first, the command line on top; a bad TWIN_BACKEND is named as such', () => {
    expect(backendChoices(['redis=local'], { TWIN_BACKEND: 'embedded' })).toMatchObject({ postgres: 'embedded', redis: 'local' });
    expect(() => backendChoices([], { TWIN_BACKEND: 'postgres=docker' })).toThrow(/^TWIN_BACKEND: unknown backend `docker`/);
  });

  it('is a CLI option of run, agree and up; a bad value is a CliError with a hint', () => {
    expect(parseCliArgs(['up', '--backend', 'embedded']).backends.rabbitmq).toBe('embedded');
    expect(parseCliArgs(['run', 'x.yaml', '--backend', 'postgres=external']).backends).toEqual({ postgres: 'external' });
    expect(() => parseCliArgs(['validate', 'x.yaml', '--backend', 'embedded'])).toThrow(/option --backend does not apply to `twin validate`/);
    expect(() => parseCliArgs(['up', '--backend', 'pg=local'])).toThrow(expect.objectContaining({ name: 'CliError', hint: expect.stringContaining('components: postgres, redis') }));
  });
});
