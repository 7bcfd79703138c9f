/**
 * The build agent as a real Nomad task: what a `raw_exec` allocation runs when the live stack's nomad_server is
 * a real agent (`twin up --nomad real`). It does what the twin's in-process `BuildAgentRunner` does, from its
 * environment, and prints each step to stdout so `nomad alloc logs` shows the build's real output:
 *
 *     start ─► POST /builds/:id/start ─► steps (stdout + POST /output) ─► sleep DURATION_MS / TIME_SCALE ─► POST /finish
 *
 * Environment (set by schedulerer's job): OUTPUT_PROCESSOR_URL_FILE (a file holding output-processor's URL,
 * written once it listens), BUILD_ID, PARALLEL_INDEX, PARALLELISM, DURATION_MS, TIME_SCALE, FAILS, ARTIFACTS,
 * TEST_RESULTS; NOMAD_ALLOC_ID is Nomad's. Exit 0 when the build agent ended normally (a red build is not an
 * agent failure), 1 when output-processor never became known.
 */
import { existsSync, readFileSync } from 'node:fs';

/** How long the task waits for output-processor's URL to be known, and how often it looks. */
const URL_WAIT_MS = 60_000;
const URL_POLL_MS = 200;
/** Steps the agent prints, as the in-process runner posts. */
const STEPS = ['Spin up environment', 'Checkout code', 'Run tests'];

function env(name: string, fallback?: string): string {
  const v = process.env[name] ?? fallback;
  if (v === undefined) throw new Error(`build agent: ${name} is not set (schedulerer's raw_exec job sets it)`);
  return v;
}

async function outputProcessorUrl(file: string): Promise<string> {
  const deadline = Date.now() + URL_WAIT_MS;
  for (;;) {
    if (existsSync(file)) {
      const url = readFileSync(file, 'utf8').trim();
      if (url !== '') return url;
    }
    if (Date.now() > deadline) throw new Error(`build agent: no output-processor URL in ${file} after ${URL_WAIT_MS} ms`);
    await new Promise((r) => setTimeout(r, URL_POLL_MS));
  }
}

async function post(base: string, path: string, body: unknown): Promise<void> {
  try {
    const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(5_000) });
    await res.text();
    if (!res.ok) process.stderr.write(`build agent: ${path} answered ${res.status}\n`);
  } catch (err) {
    // output-processor down: the report is lost (v0), the build agent goes on, as the in-process runner does.
    process.stderr.write(`build agent: ${path} failed: ${err instanceof Error ? err.message : String(err)}\n`);
  }
}

async function main(): Promise<void> {
  const buildId = env('BUILD_ID');
  const index = Number(env('PARALLEL_INDEX', '0'));
  const parallelism = Number(env('PARALLELISM', '1'));
  const durationMs = Number(env('DURATION_MS', '1000'));
  const timeScale = Number(env('TIME_SCALE', '1'));
  const alloc = env('NOMAD_ALLOC_ID', 'unknown');
  const node = process.env.NOMAD_NODE_NAME ?? process.env.HOSTNAME ?? 'nomad-client';
  const base = await outputProcessorUrl(env('OUTPUT_PROCESSOR_URL_FILE'));
  await post(base, `/builds/${buildId}/start`, { alloc, index });
  const lines = STEPS.map((s, i) => `[${index}] step ${i + 1}: ${s} on ${node}`);
  for (const l of lines) process.stdout.write(`${l}\n`);
  await post(base, `/builds/${buildId}/output`, { lines });
  await new Promise((r) => setTimeout(r, Math.max(0, durationMs / (timeScale > 0 ? timeScale : 1))));
  const failed = process.env.FAILS === 'true';
  process.stdout.write(`[${index}] ${failed ? 'step failed' : 'all steps passed'}\n`);
  await post(base, `/builds/${buildId}/finish`, {
    alloc,
    index,
    parallelism,
    artifacts: Number(process.env.ARTIFACTS ?? 0),
    testResults: process.env.TEST_RESULTS === 'true',
    ...(failed ? { failed: true } : {}),
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
