import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus, totalmem, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { BenchFigure } from './types.ts';

/**
 * `npm run bench`: runs each suite in its own Node process (so one suite's heap and JIT state do not colour
 * another's, and peak RSS is the suite's own), then prints every figure with its target and anchor ratio.
 */
const SUITES = [
  { name: 'engine', file: 'engine.ts', oneCore: false },
  { name: 'nomad', file: 'nomad.ts', oneCore: false },
  // "On one core": pinned with taskset, so the garbage collector's helper threads share the same core.
  { name: 'full-model', file: 'full-model.ts', oneCore: true },
  { name: 'explore', file: 'explore.ts', oneCore: true },
  { name: 'startup', file: 'startup.ts', oneCore: false },
  // Real processes (PostgreSQL, Redis, RabbitMQ) and wall-clock time: about two minutes.
  { name: 'live', file: 'live.ts', oneCore: false },
];
const taskset = ['/usr/bin/taskset', '/bin/taskset'].find((p) => existsSync(p));

const only = process.argv.slice(2);
const here = fileURLToPath(new URL('.', import.meta.url));
const figures: BenchFigure[] = [];
const cpu = cpus()[0]?.model ?? 'unknown CPU';
console.log(`machine: ${cpus().length} × ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);

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
  console.log(`${f.met ? 'MET ' : 'MISS'} ${f.name}: ${fmt(f.value)} ${f.unit} (target ${f.target})`);
  if (f.anchor) console.log(`     vs ${f.anchor.name}: ${fmt(f.anchor.value)} ${f.anchor.unit} → ratio ${fmt(f.anchor.ratio)}`);
  if (f.note) console.log(`     ${f.note}`);
}
console.log(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
process.exitCode = figures.every((f) => f.met) ? 0 : 1;
