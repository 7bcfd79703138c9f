import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { consoleHostname, processTree, replicatedAddresses, ServicesVolume, setConsoleHostname, updateReplicatedAddresses, writeMachineConfig } from './services-volume.ts';

const procState = (pid: number) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[0];

describe('ServicesVolume', () => {
  const dirs: string[] = [];
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), 'twin-volume-test-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('copies every part, lets the writers go on after the hold, wipes the parts and restores them from the copy', async () => {
    const root = tmp();
    const store = join(root, 'store');
    const etc = join(root, 'etc');
    mkdirSync(join(store, 'base'), { recursive: true });
    writeFileSync(join(store, 'base', 'table'), 'rows before the snapshot');
    writeMachineConfig(etc, '10.0.0.9');
    // A writer with a child, as PostgreSQL's postmaster has backends: the whole tree is held and released.
    const writer = spawn('bash', ['-c', 'sleep 30 & wait'], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 200));
    const tree = processTree(writer.pid!);
    expect(tree.length).toBe(2);
    const volume = new ServicesVolume(() => [
      { name: 'store', dir: store, pid: writer.pid },
      { name: 'etc', dir: etc, pid: undefined },
    ]);
    try {
      const copy = volume.copyTo(join(root, 'snap'));
      expect(copy.parts).toEqual(['store', 'etc']);
      expect(copy.holdMs).toBeGreaterThan(0);
      expect(copy.bytes).toBeGreaterThan(0);
      for (const pid of tree) expect(procState(pid), `pid ${pid} continued after the copy`).not.toBe('T');
      writeFileSync(join(store, 'base', 'table'), 'rows after the snapshot');
      volume.wipe();
      expect(readdirSync(store)).toEqual([]);
      expect(readdirSync(etc)).toEqual([]);
      volume.restoreFrom(join(root, 'snap'));
      expect(readFileSync(join(store, 'base', 'table'), 'utf8')).toBe('rows before the snapshot');
      expect(replicatedAddresses(etc)).toEqual(['10.0.0.9', '10.0.0.9']);
    } finally {
      for (const pid of tree) process.kill(pid, 'SIGKILL');
    }
  });

  it('rewrites the old address in both replicated defaults files, and the console hostname apart from them', () => {
    const etc = tmp();
    writeMachineConfig(etc, '10.0.0.9');
    setConsoleHostname(etc, '10.0.0.77');
    expect(consoleHostname(etc)).toBe('10.0.0.77');
    expect(replicatedAddresses(etc)).toEqual(['10.0.0.9', '10.0.0.9']);
    expect(updateReplicatedAddresses(etc, '10.0.0.9', '10.0.0.77')).toEqual(['/etc/default/replicated', '/etc/default/replicated-operator']);
    expect(replicatedAddresses(etc)).toEqual(['10.0.0.77', '10.0.0.77']);
    expect(readFileSync(join(etc, 'default', 'replicated-operator'), 'utf8')).toContain('DAEMON_ENDPOINT=10.0.0.77:9879');
    expect(updateReplicatedAddresses(etc, '10.0.0.9', '10.0.0.77')).toEqual([]);
  });
});
