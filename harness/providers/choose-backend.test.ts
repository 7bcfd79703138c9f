import { describe, expect, it } from 'vitest';
import { chooseBackend, type BackendQuestion } from './choose-backend.ts';

const absent = { available: false, detail: 'no container runtime' };
const present = { available: true, detail: 'docker at /var/run/docker.sock' };

function question(over: Partial<BackendQuestion>): BackendQuestion {
  return {
    component: 'postgres',
    choice: 'auto',
    url: undefined,
    urlExample: 'postgres://u@h/db',
    local: () => ({ available: true, detail: 'local binaries found' }),
    localHint: 'install postgresql',
    runtime: async () => absent,
    ...over,
  };
}

describe('chooseBackend', () => {
  it('auto: a URL means external, then local, then testcontainers, then embedded', async () => {
    expect(await chooseBackend(question({ url: 'postgres://x' }))).toMatchObject({ kind: 'external', reason: 'auto: a URL was given' });
    expect(await chooseBackend(question({}))).toMatchObject({ kind: 'local', reason: 'auto: local binaries found' });
    const noLocal = () => ({ available: false, detail: 'no initdb' });
    expect(await chooseBackend(question({ local: noLocal, runtime: async () => present }))).toMatchObject({ kind: 'testcontainers' });
    const embedded = await chooseBackend(question({ local: noLocal, embedded: { available: true, detail: 'embedded fallback' } }));
    expect(embedded).toMatchObject({ kind: 'embedded' });
    expect(embedded.reason).toBe('auto: no initdb; no container runtime; embedded fallback');
  });

  it('auto with nothing available is UNAVAILABLE with a hint', async () => {
    await expect(chooseBackend(question({ local: () => ({ available: false, detail: 'no initdb' }) }))).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      message: 'postgres: no backend available: no initdb; no container runtime',
      hint: expect.stringMatching(/install postgresql.*withUrl\('postgres:\/\/u@h\/db'\)/),
    });
  });

  it('auto does not probe for a runtime when local binaries exist', async () => {
    let probed = false;
    await chooseBackend(question({ runtime: async () => ((probed = true), absent) }));
    expect(probed).toBe(false);
  });

  it('explicit choices that cannot run are errors, never silent substitutes', async () => {
    await expect(chooseBackend(question({ choice: 'external' }))).rejects.toMatchObject({ code: 'BAD_URL', message: expect.stringMatching(/needs a URL/) });
    await expect(chooseBackend(question({ choice: 'local', local: () => ({ available: false, detail: 'no initdb' }) }))).rejects.toMatchObject({ code: 'BINARY_MISSING', hint: 'install postgresql' });
    await expect(chooseBackend(question({ choice: 'testcontainers' }))).rejects.toMatchObject({ code: 'UNAVAILABLE', message: expect.stringMatching(/no container runtime/) });
    await expect(chooseBackend(question({ choice: 'embedded' }))).rejects.toMatchObject({ code: 'UNAVAILABLE', message: expect.stringMatching(/postgres has no embedded backend/) });
  });

  it('explicit choices that can run are taken', async () => {
    expect(await chooseBackend(question({ choice: 'local' }))).toMatchObject({ kind: 'local' });
    expect(await chooseBackend(question({ choice: 'external', url: 'postgres://x' }))).toMatchObject({ kind: 'external' });
    expect(await chooseBackend(question({ choice: 'testcontainers', runtime: async () => present }))).toMatchObject({ kind: 'testcontainers' });
  });
});
