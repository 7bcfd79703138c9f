import { describe, expect, it } from 'vitest';
import { containerEnvironment, DEFAULT_HEAP_BYTES, execEnv, heapLimitBytes, printEnv, replForm } from './container-env.ts';

describe("a container's environment", () => {
  it('is the image\'s PATH, its HOSTNAME, then its customizations; printenv answers from it', () => {
    const env = containerEnvironment('frontend', { JVM_HEAP_SIZE: '2g' });
    expect(Object.keys(env)).toEqual(['PATH', 'HOSTNAME', 'JVM_HEAP_SIZE']);
    expect(printEnv(env, 'JVM_HEAP_SIZE')).toEqual({ output: '2g', exit: 0 });
    expect(printEnv(env, 'NOPE')).toEqual({ output: '', exit: 1 });
    expect(execEnv('frontend', { JVM_HEAP_SIZE: '2g' }, undefined)).toEqual(printEnv(env, undefined));
  });

  it('gives the heap JVM_HEAP_SIZE sets, the default when it is unset or unreadable', () => {
    expect(heapLimitBytes({ JVM_HEAP_SIZE: '2g' })).toBe(2 * 1024 ** 3);
    expect(heapLimitBytes({})).toBe(DEFAULT_HEAP_BYTES);
    expect(heapLimitBytes({ JVM_HEAP_SIZE: 'lots' })).toBe(DEFAULT_HEAP_BYTES);
  });

  it("the REPL's .maxMemory answers the process's own limit when given, else the environment's", () => {
    const form = '(-> (java.lang.Runtime/getRuntime) (.maxMemory))';
    expect(replForm(form, { JVM_HEAP_SIZE: '2g' })).toMatchObject({ output: String(2 * 1024 ** 3) });
    expect(replForm(form, { JVM_HEAP_SIZE: '2g' }, 12345)).toMatchObject({ output: '12345' });
  });
});
