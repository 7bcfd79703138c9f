import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { staleBundleReason } from '../bin/bundle-check.mjs';
import type { BenchFigure, BenchSuite } from './types.ts';

/**
 * Start-up of the CLI as a user meets it (`node bin/twin.js`, the prebuilt bundle when current), hyperfine-like:
 * every command is run ROUNDS times, round-robin with `node -e 0` so that all of them see the same machine load,
 * and each is judged by its median minus the median of `node -e 0` in the same run. Also measured: the sources
 * through tsx (the fallback when the bundle is stale) and the bundle's staleness check itself.
 * `tsx bench/startup.ts [--rounds N] [--json FILE] [--only cli|up|up-embedded] [--up-rounds N]`; figures as JSON lines on stdout
 * (for bench/run.ts), a table on stderr, and the figures with every sample in FILE (default
 * reports/out/bench/startup.json; `twin up -d`'s in startup-up.json beside it).
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'twin.js');
const TARGET_OVER_NODE_MS = 500;
const CHECK_TARGET_MS = 20;
/** Issue 11: `twin up -d --backend embedded` all healthy in <= 3 s from the command's start. */
const UP_TARGET_OVER_NODE_MS = 3_000;

/** scenarios/baseline.yaml cut to one hour (its workload, fleet and expectations; 120 pushes an hour). */
function oneHourScenario(): string {
  const baseline = readFileSync(join(ROOT, 'scenarios', 'baseline.yaml'), 'utf8');
  const text = baseline.replace(/^duration: .*$/m, 'duration: 1h').replace(/^name: .*$/m, 'name: startup-bench');
  if (!text.includes('duration: 1h')) throw new Error('scenarios/baseline.yaml has no top-level `duration:` line to cut to one hour');
  return text;
}

interface Command {
  name: string;
  args: string[];
  env?: Record<string, string>;
  /** Where it runs (default the project's root). */
  cwd?: string;
  /** The difference from `node -e 0` it must stay within, or undefined for a figure shown for comparison only. */
  targetMs?: number;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** GNU time, when installed: the child's user + system CPU time, which machine load does not inflate as it does wall time. */
const GNU_TIME = ['/usr/bin/time', '/bin/time'].find((p) => existsSync(p));

interface Sample {
  wallMs: number;
  cpuMs: number | undefined;
}

function timeOnce(c: Command, scratch: string): Sample {
  const cpuFile = join(scratch, 'cpu.txt');
  const [cmd, ...args] = GNU_TIME ? [GNU_TIME, '-f', '%U %S', '-o', cpuFile, process.execPath, ...c.args] : [process.execPath, ...c.args];
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd!, args, { cwd: c.cwd ?? ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...c.env } });
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${c.name} exited ${r.status}: ${r.stderr.toString().slice(0, 500)}`);
  const cpu = GNU_TIME ? readFileSync(cpuFile, 'utf8').trim().split(/\s+/).slice(-2).map(Number) : [];
  return { wallMs, cpuMs: cpu.length === 2 && cpu.every(Number.isFinite) ? (cpu[0]! + cpu[1]!) * 1000 : undefined };
}

/** Builds the bundles (the live one too, with `live`) when they are not current, as npm install would. */
function ensureBuilt(live: boolean): void {
  const stale = staleBundleReason(ROOT, join(ROOT, 'dist')) ?? (live ? staleBundleReason(ROOT, join(ROOT, 'dist', 'live')) : undefined);
  if (stale === undefined) return;
  process.stderr.write(`  the bundles are not current (${stale}): building them, as npm install would\n`);
  const b = spawnSync(process.execPath, [join(ROOT, 'bin', 'build.mjs')], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  if (b.status !== 0) throw new Error('npm run build failed');
}

/** CPU time (user + system) of a process and its threads so far, from /proc; undefined once it is gone. */
function procCpuMs(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}
/** USER_HZ: 100 on every Linux this runs on (`getconf CLK_TCK`). */
const CLOCK_TICKS = 100;

/** The fields of /proc/<pid>[/task/<tid>]/stat after the command's name (the state is [0]); undefined once it is gone. */
function statFields(path: string): string[] | undefined {
  try {
    return readFileSync(path, 'utf8').split(') ')[1]!.split(' ');
  } catch {
    return undefined;
  }
}
const ticksMs = (f: string[], i: number) => (Number(f[i]) * 1000) / CLOCK_TICKS;

/** Where a stack's CPU went when `twin up -d` returned, each part in ms. */
interface CpuBreakdown {
  /** The supervisor's main thread. */
  main: number;
  /** Its other threads (workers, V8's and libuv's), largest first. */
  threads: number[];
  /** Its threads that had exited (workers ended during the boot): the process's CPU less that of the threads listed. */
  exitedThreads: number;
  /** Its children that had exited (user + system of those it reaped). */
  exitedChildren: number;
  /** Each process it owns (its label), with its live descendants (postgres' backends). */
  owned: { label: string; ms: number }[];
}

/** Every live process's parent, from /proc. */
function parents(): Map<number, number[]> {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(name)) continue;
    const f = statFields(`/proc/${name}/stat`);
    if (f === undefined) continue;
    const ppid = Number(f[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
  }
  return children;
}

/** The CPU of the supervisor thread by thread, and of each process it owns with its descendants. */
function cpuBreakdown(supervisorPid: number, owned: readonly { pid: number; label?: string }[]): CpuBreakdown | undefined {
  const own = statFields(`/proc/${supervisorPid}/stat`);
  if (own === undefined) return undefined;
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${supervisorPid}/task`);
  } catch {
    return undefined;
  }
  const threads: number[] = [];
  let main = 0;
  for (const tid of tasks) {
    const f = statFields(`/proc/${supervisorPid}/task/${tid}/stat`);
    if (f === undefined) continue;
    const ms = ticksMs(f, 11) + ticksMs(f, 12);
    if (Number(tid) === supervisorPid) main = ms;
    else threads.push(ms);
  }
  // Read after its threads, so that what they used meanwhile is in the process's total too.
  const total = statFields(`/proc/${supervisorPid}/stat`) ?? own;
  const children = parents();
  const tree = (pid: number): number => {
    const f = statFields(`/proc/${pid}/stat`);
    const mine = f === undefined ? 0 : ticksMs(f, 11) + ticksMs(f, 12) + ticksMs(f, 13) + ticksMs(f, 14);
    return mine + (children.get(pid) ?? []).reduce((a, c) => a + tree(c), 0);
  };
  return {
    main,
    threads: threads.sort((a, b) => b - a),
    exitedThreads: Math.max(0, ticksMs(total, 11) + ticksMs(total, 12) - main - threads.reduce((a, x) => a + x, 0)),
    exitedChildren: ticksMs(own, 13) + ticksMs(own, 14),
    owned: owned.filter((p) => p.pid !== supervisorPid).map((p) => ({ label: p.label ?? String(p.pid), ms: tree(p.pid) })),
  };
}

/** "main 2.1 s, 37 threads 6.0 s (1.0, 0.7, …), exited children 0.3 s, postgres 1.2 s, …" */
function describeBreakdown(b: CpuBreakdown): string {
  const s = (ms: number) => (ms / 1000).toFixed(2);
  const threads = b.threads.reduce((a, x) => a + x, 0);
  const owned = b.owned.map((o) => `${o.label.split(' ')[0]} ${s(o.ms)}`).join(', ');
  return `main ${s(b.main)}, ${b.threads.length} threads ${s(threads)} (${b.threads.filter((x) => x > 0).map(s).join(' ')}), exited threads ${s(b.exitedThreads)}, exited children ${s(b.exitedChildren)}; owned: ${owned}`;
}

interface UpSample extends Sample {
  /** CPU of the whole stack when `twin up -d` returned: the supervisor (all its threads) and every process it owns. */
  stackCpuMs: number | undefined;
  /** The same, thread by thread and process by process (descendants and reaped children included). */
  breakdown: CpuBreakdown | undefined;
}

/**
 * `twin up -d` from the command's start until it returns with every row healthy (it returns 0 only then), in a
 * scratch directory of its own (its `.twin/` state), then `twin down`, not timed. Also read when it returned: the CPU
 * the stack's processes had used so far (`/proc/<pid>/stat` of the supervisor and of every process in its state file).
 */
function timeUp(backendArgs: string[], dir: string, show = true): UpSample {
  const sample = timeOnce({ name: 'twin up -d', args: [BIN, 'up', '-d', ...backendArgs], cwd: dir }, dir);
  const state = JSON.parse(readFileSync(join(dir, '.twin', 'stack.json'), 'utf8')) as { supervisorPid: number; owner?: { processes: { pid: number; label?: string }[] } };
  // Once each: the state file's owned processes may list the supervisor itself.
  const pids = [...new Set([state.supervisorPid, ...(state.owner?.processes ?? []).map((p) => p.pid)])];
  const cpus = pids.map(procCpuMs).filter((x): x is number => x !== undefined);
  const breakdown = cpuBreakdown(state.supervisorPid, state.owner?.processes ?? []);
  if (show && breakdown !== undefined) process.stderr.write(`    ${Math.round(sample.wallMs)} ms: ${describeBreakdown(breakdown)}\n`);
  const down = spawnSync(process.execPath, [BIN, 'down'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  if (down.status !== 0) throw new Error(`twin down exited ${down.status}: ${down.stderr.toString().slice(0, 500)}`);
  return { ...sample, stackCpuMs: cpus.length > 0 ? cpus.reduce((a, b) => a + b, 0) : undefined, breakdown };
}

/**
 * The live stack's start as a user meets it: `twin up -d --backend embedded` (the issue's target) and `twin up -d` on
 * the default backends (for comparison), each `rounds` times round-robin with `node -e 0`, judged by the median minus
 * `node -e 0`'s. Figures as for the CLI's commands; samples in `jsonFile`.
 */
export function upBench(rounds = 5, jsonFile = join(ROOT, 'reports', 'out', 'bench', 'startup-up.json'), embeddedOnly = false): BenchFigure[] {
  ensureBuilt(true);
  const dir = mkdtempSync(join(tmpdir(), 'twin-startup-up-'));
  try {
    const variants = [
      { name: 'twin up -d --backend embedded', args: ['--backend', 'embedded'], targetMs: UP_TARGET_OVER_NODE_MS },
      { name: 'twin up -d (default backends)', args: [] as string[], targetMs: undefined },
    ].filter((v) => !embeddedOnly || v.targetMs !== undefined);
    const nodeRuns: Sample[] = [];
    const runs = new Map<string, UpSample[]>(variants.map((v) => [v.name, []]));
    for (const v of variants) timeUp(v.args, dir, false); // warm the file cache and the PostgreSQL template once, unmeasured
    for (let i = 0; i < rounds; i++) {
      for (const v of variants) {
        nodeRuns.push(timeOnce({ name: 'node -e 0', args: ['-e', '0'] }, dir));
        runs.get(v.name)!.push(timeUp(v.args, dir));
      }
    }
    const round = (x: number) => Math.round(x);
    const nodeMs = median(nodeRuns.map((x) => x.wallMs));
    const figures: BenchFigure[] = [];
    process.stderr.write(`  ${'command'.padEnd(32)} ${'wall'.padStart(9)} ${'over node'.padStart(10)} ${'stack CPU'.padStart(10)}   (medians of ${rounds} runs, load average ${loadavg()[0]!.toFixed(2)})\n`);
    for (const v of variants) {
      const xs = runs.get(v.name)!;
      const ms = median(xs.map((x) => x.wallMs));
      const over = ms - nodeMs;
      const cpu = xs.flatMap((x) => (x.stackCpuMs === undefined ? [] : [x.stackCpuMs]));
      const slug = v.name.replace(/[^a-z0-9]+/gi, '_').replace(/^_|_$/g, '').toLowerCase();
      figures.push({
        name: `startup.${slug}.over_node_ms`,
        value: round(over),
        unit: 'ms',
        target: v.targetMs === undefined ? 'none (for comparison)' : `<= ${v.targetMs} ms over node -e 0 (every row healthy when it returns)`,
        met: v.targetMs === undefined || over <= v.targetMs,
        anchor: { name: 'node -e 0 in the same run', value: round(nodeMs), unit: 'ms', ratio: Math.round((ms / nodeMs) * 10) / 10 },
        note: `${v.name}: median ${round(ms)} ms of ${rounds} runs (min ${round(Math.min(...xs.map((x) => x.wallMs)))}, max ${round(Math.max(...xs.map((x) => x.wallMs)))}), round-robin with node -e 0; twin down after each, not timed`,
      });
      if (cpu.length > 0) {
        figures.push({
          name: `startup.${slug}.stack_cpu_ms`,
          value: round(median(cpu)),
          unit: 'ms',
          target: 'none (CPU time of the stack\'s processes when it returned, all threads: on 2 idle cores the wall time cannot be under half of it)',
          met: true,
        });
      }
      process.stderr.write(`  ${v.name.padEnd(32)} ${`${round(ms)} ms`.padStart(9)} ${`+${round(over)} ms`.padStart(10)} ${(cpu.length > 0 ? `${round(median(cpu))} ms` : '-').padStart(10)}\n`);
    }
    mkdirSync(dirname(jsonFile), { recursive: true });
    writeFileSync(jsonFile, `${JSON.stringify({ rounds, load_average: loadavg(), node: process.version, figures, node_samples_ms: nodeRuns.map((x) => x.wallMs), samples: Object.fromEntries(runs) }, null, 2)}\n`);
    process.stderr.write(`  figures and samples: ${jsonFile}\n`);
    return figures;
  } finally {
    spawnSync(process.execPath, [BIN, 'down'], { cwd: dir, stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  }
}

export function startupBench(rounds = 9, jsonFile = join(ROOT, 'reports', 'out', 'bench', 'startup.json')): BenchFigure[] {
  ensureBuilt(false);
  const dir = mkdtempSync(join(tmpdir(), 'twin-startup-'));
  try {
    const scenario = join(dir, 'one-hour.yaml');
    writeFileSync(scenario, oneHourScenario());
    const commands: Command[] = [
      { name: 'node -e 0', args: ['-e', '0'] },
      { name: 'twin --help', args: [BIN, '--help'], targetMs: TARGET_OVER_NODE_MS },
      { name: 'twin run (1 h scenario)', args: [BIN, 'run', scenario, '--out', join(dir, 'out'), '-q'], targetMs: TARGET_OVER_NODE_MS },
      { name: 'twin validate', args: [BIN, 'validate', scenario] },
      { name: 'twin --help via tsx', args: [BIN, '--help'], env: { TWIN_NO_BUNDLE: '1' } },
      { name: 'twin run (1 h) via tsx', args: [BIN, 'run', scenario, '--out', join(dir, 'out'), '-q'], env: { TWIN_NO_BUNDLE: '1' } },
    ];
    const runs = new Map<string, Sample[]>(commands.map((c) => [c.name, []]));
    for (const c of commands) timeOnce(c, dir); // warm the file cache (and tsx's compile cache) once, unmeasured
    for (let i = 0; i < rounds; i++) for (const c of commands) runs.get(c.name)!.push(timeOnce(c, dir));
    const samples = new Map([...runs].map(([name, xs]) => [name, xs.map((x) => x.wallMs)]));
    const cpuSamples = new Map([...runs].map(([name, xs]) => [name, xs.flatMap((x) => (x.cpuMs === undefined ? [] : [x.cpuMs]))]));

    const checks: number[] = [];
    for (let i = 0; i < 21; i++) {
      const t0 = process.hrtime.bigint();
      staleBundleReason(ROOT, join(ROOT, 'dist'));
      checks.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }

    const nodeMs = median(samples.get('node -e 0')!);
    const round = (x: number) => Math.round(x * 10) / 10;
    const figures: BenchFigure[] = commands.slice(1).map((c) => {
      const ms = median(samples.get(c.name)!);
      const over = ms - nodeMs;
      return {
        name: `startup.${c.name.replace(/[^a-z0-9]+/gi, '_').replace(/^_|_$/g, '').toLowerCase()}.over_node_ms`,
        value: round(over),
        unit: 'ms',
        target: c.targetMs === undefined ? 'none (for comparison)' : `<= ${c.targetMs} ms over node -e 0`,
        met: c.targetMs === undefined || over <= c.targetMs,
        anchor: { name: 'node -e 0 in the same run', value: round(nodeMs), unit: 'ms', ratio: round(ms / nodeMs) },
        note: `${c.name}: median ${round(ms)} ms of ${rounds} runs (min ${round(Math.min(...samples.get(c.name)!))}, max ${round(Math.max(...samples.get(c.name)!))}), round-robin with node -e 0`,
      };
    });
    const nodeCpuMs = cpuSamples.get('node -e 0')!.length > 0 ? median(cpuSamples.get('node -e 0')!) : undefined;
    for (const c of commands.slice(1)) {
      const cpu = cpuSamples.get(c.name)!;
      if (nodeCpuMs === undefined || cpu.length === 0) continue;
      figures.push({
        name: `startup.${c.name.replace(/[^a-z0-9]+/gi, '_').replace(/^_|_$/g, '').toLowerCase()}.cpu_over_node_ms`,
        value: round(median(cpu) - nodeCpuMs),
        unit: 'ms',
        target: 'none (CPU time, user + system: what the wall time comes to on an idle machine)',
        met: true,
        anchor: { name: 'node -e 0 CPU time in the same run', value: round(nodeCpuMs), unit: 'ms', ratio: round(median(cpu) / Math.max(1, nodeCpuMs)) },
      });
    }
    if (nodeCpuMs === undefined) process.stderr.write('  (GNU time not found: CPU times not measured)\n');
    const checkMs = median(checks);
    figures.push({ name: 'startup.bundle_check_ms', value: Math.round(checkMs * 100) / 100, unit: 'ms', target: `<= ${CHECK_TARGET_MS} ms`, met: checkMs <= CHECK_TARGET_MS, note: 'bin/twin.js: stat every file listed in dist/manifest.json (median of 21, in process)' });

    process.stderr.write(`  ${'command'.padEnd(26)} ${'wall'.padStart(9)} ${'over node'.padStart(10)} ${'CPU'.padStart(9)} ${'over node'.padStart(10)}   (medians of ${rounds} runs, load average ${loadavg()[0]!.toFixed(2)})\n`);
    for (const c of commands) {
      const ms = median(samples.get(c.name)!);
      const cpu = cpuSamples.get(c.name)!.length > 0 ? median(cpuSamples.get(c.name)!) : undefined;
      const over = (x: number, base: number | undefined) => (c.name === 'node -e 0' || base === undefined ? '' : `+${Math.round(x - base)} ms`);
      process.stderr.write(
        `  ${c.name.padEnd(26)} ${`${Math.round(ms)} ms`.padStart(9)} ${over(ms, nodeMs).padStart(10)} ${(cpu === undefined ? '-' : `${Math.round(cpu)} ms`).padStart(9)} ${(cpu === undefined ? '' : over(cpu, nodeCpuMs)).padStart(10)}\n`,
      );
    }
    process.stderr.write(`  bundle staleness check: ${checkMs.toFixed(2)} ms\n`);
    mkdirSync(dirname(jsonFile), { recursive: true });
    writeFileSync(jsonFile, `${JSON.stringify({ rounds, load_average: loadavg(), node: process.version, figures, samples_ms: Object.fromEntries(samples), cpu_samples_ms: Object.fromEntries(cpuSamples) }, null, 2)}\n`);
    process.stderr.write(`  figures and samples: ${jsonFile}\n`);
    return figures;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const startupSuite: BenchSuite = { name: 'startup', run: () => [...startupBench(), ...upBench()] };

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (flag: string) => {
    const i = process.argv.indexOf(flag);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const rounds = Number(arg('--rounds') ?? 9);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 100) throw new Error(`--rounds must be a whole number from 1 to 100, got ${arg('--rounds')}`);
  const json = arg('--json');
  // --only up: just `twin up -d` (its rounds from --up-rounds, default 5); --only up-embedded: just `twin up -d
  // --backend embedded`; --only cli: just the CLI's commands.
  const only = arg('--only');
  const upRounds = Number(arg('--up-rounds') ?? 5);
  if (!Number.isInteger(upRounds) || upRounds < 1 || upRounds > 50) throw new Error(`--up-rounds must be a whole number from 1 to 50, got ${arg('--up-rounds')}`);
  if (only !== undefined && only !== 'up' && only !== 'up-embedded' && only !== 'cli') throw new Error(`--only must be up, up-embedded or cli, got ${only}`);
  if (only === undefined || only === 'cli') for (const f of startupBench(rounds, json)) console.log(JSON.stringify(f));
  if (only !== 'cli') for (const f of upBench(upRounds, json?.replace(/\.json$/, '-up.json'), only === 'up-embedded')) console.log(JSON.stringify(f));
}
