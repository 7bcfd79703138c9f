import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { cpus, totalmem, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { BenchFigure } from './types.ts';

/**
 * `npm run bench`: runs each suite in its own Node process (so one suite's heap and JIT state do not colour
 * another's, and peak RSS is the suite's own), then prints every figure with its target and anchor ratio and
 * writes them all as JSON to bench/results/latest.json (or the file after `--json`).
 */
const SUITES = [
  { name: 'engine', file: 'engine.ts', oneCore: false },
  { name: 'nomad', file: 'nomad.ts', oneCore: false },
  // "On one core": pinned with taskset, so the garbage collector's helper threads share the same core.
  { name: 'full-model', file: 'full-model.ts', oneCore: true },
  { name: 'explore', file: 'explore.ts', oneCore: true },
  // `twin dr`'s computation for a simulated day (rehearsal, baseline, interval sweep), on one core.
  { name: 'dr', file: 'dr.ts', oneCore: true },
  // A private redis-server and two `twin worker` processes: both cores, wall time.
  { name: 'distributed', file: 'distributed.ts', oneCore: false },
  { name: 'startup', file: 'startup.ts', oneCore: false },
  // A 24-cell sweep of simulated weeks on worker threads, then on one thread: about two minutes.
  { name: 'tune', file: 'tune.ts', oneCore: false },
  // Real processes (PostgreSQL, Redis, RabbitMQ) and wall-clock time: about two minutes.
  { name: 'live', file: 'live.ts', oneCore: false },
  // `twin dr ebs-snapshot-restore --mode live` once: its wall time against the 3-minute budget, the snapshot's hold,
  // the restore's boot, each runbook step and the CPU seconds: about three minutes.
  { name: 'dr-live', file: 'dr-live.ts', oneCore: false },
];
const taskset = ['/usr/bin/taskset', '/bin/taskset'].find((p) => existsSync(p));

const here = fileURLToPath(new URL('.', import.meta.url));
const argv = process.argv.slice(2);
const jsonAt = argv.indexOf('--json');
if (jsonAt >= 0 && (argv[jsonAt + 1] === undefined || argv[jsonAt + 1]!.startsWith('-'))) {
  throw new Error('--json needs a file name, e.g. npm run bench -- engine --json /tmp/bench.json');
}
const jsonFile = jsonAt >= 0 ? resolve(argv[jsonAt + 1]!) : `${here}results/latest.json`;
const only = argv.filter((_, i) => jsonAt < 0 || (i !== jsonAt && i !== jsonAt + 1));
const unknown = only.filter((name) => !SUITES.some((s) => s.name === name));
if (unknown.length > 0) throw new Error(`unknown suite ${unknown.join(', ')}; suites: ${SUITES.map((s) => s.name).join(', ')}`);
const figures: BenchFigure[] = [];
const cpu = cpus()[0]?.model ?? 'unknown CPU';
const machine = `${cpus().length} × ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
const loadBefore = loadavg();
const startedAt = new Date().toISOString();
console.log(`machine: ${machine}, load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')}`);

for (const suite of SUITES) {
  if (only.length > 0 && !only.includes(suite.name)) continue;
  process.stderr.write(`running ${suite.name} …\n`);
  const node = [process.execPath, '--import', 'tsx', `${here}${suite.file}`];
  const [cmd, ...args] = suite.oneCore && taskset ? [taskset, '-c', '0', ...node] : node;
  if (suite.oneCore && !taskset) process.stderr.write(`  (taskset not found: ${suite.name} runs unpinned)\n`);
  const out = execFileSync(cmd!, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 16 * 1024 * 1024 });
  for (const line of out.split('\n')) if (line.startsWith('{')) figures.push(JSON.parse(line) as BenchFigure);
}

const fmt = (x: number) => (Number.isInteger(x) ? x.toLocaleString('en-US') : x.toLocaleString('en-US', { maximumFractionDigits: 3 }));
for (const f of figures) {
  if (f.missing !== undefined) {
    console.log(`MISSING ${f.name} (target ${f.target}): ${f.missing}`);
    continue;
  }
  console.log(`${f.met ? 'MET ' : 'MISS'} ${f.name}: ${fmt(f.value)} ${f.unit} (target ${f.target})`);
  if (f.anchor) console.log(`     vs ${f.anchor.name}: ${fmt(f.anchor.value)} ${f.anchor.unit} → ratio ${fmt(f.anchor.ratio)}`);
  if (f.note) console.log(`     ${f.note}`);
}
const loadAfter = loadavg();
console.log(`load average after: ${loadAfter.map((l) => l.toFixed(2)).join(' ')}`);
// Written whole to a temporary name, then renamed: a reader never sees half a file.
mkdirSync(dirname(jsonFile), { recursive: true });
writeFileSync(`${jsonFile}.tmp`, `${JSON.stringify({ startedAt, machine, loadAverage: { before: loadBefore, after: loadAfter }, suites: only.length > 0 ? only : SUITES.map((s) => s.name), figures }, null, 2)}\n`);
renameSync(`${jsonFile}.tmp`, jsonFile);
console.log(`figures written to ${jsonFile}`);
// A figure that could not be measured here (MISSING) is listed, not counted as a missed target.
process.exitCode = figures.every((f) => f.met || f.missing !== undefined) ? 0 : 1;
