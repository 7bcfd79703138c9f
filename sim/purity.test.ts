import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

// sim/ must stay a pure, deterministic model: no wall clock, no Math.random, no timers, no Node built-ins
// (hence no I/O), and no imports from the live harness. Test files are exempt: they may read fixtures.
const SIM_DIR = new URL('.', import.meta.url).pathname;

const FORBIDDEN: { rule: string; pattern: RegExp }[] = [
  { rule: 'wall clock (Date)', pattern: /\bDate\b/ },
  { rule: 'Math.random', pattern: /Math\.random/ },
  { rule: 'timers', pattern: /\b(setTimeout|setInterval|setImmediate|queueMicrotask)\b/ },
  { rule: 'performance.now / process.hrtime', pattern: /\bperformance\.now\b|\bprocess\.hrtime\b/ },
  { rule: 'node: built-in import', pattern: /from\s+['"]node:|import\(\s*['"]node:|require\(/ },
  { rule: 'bare built-in import', pattern: /from\s+['"](fs|path|os|child_process|net|http|https|dgram|crypto|worker_threads)(\/[^'"]*)?['"]/ },
  { rule: 'process access', pattern: /\bprocess\.(env|argv|exit|stdout|stderr|cwd)\b/ },
  { rule: 'import from harness/', pattern: /from\s+['"][./]*\/?(\.\.\/)+harness\// },
];

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

/** Blanks out comments so that prose about Date or timers in TSDoc is allowed. */
function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, (m) => m.replace(/[^\n]/g, ' ')).replace(/\/\/.*$/gm, '');
}

describe('sim/ purity', () => {
  it('has source files to check', () => {
    expect(sourceFiles(SIM_DIR).length).toBeGreaterThan(2);
  });

  it('contains no wall clock, randomness, timers, I/O or harness imports', () => {
    const violations: string[] = [];
    for (const file of sourceFiles(SIM_DIR)) {
      const lines = stripComments(readFileSync(file, 'utf8')).split('\n');
      lines.forEach((line, i) => {
        for (const { rule, pattern } of FORBIDDEN) {
          if (pattern.test(line)) violations.push(`sim/${relative(SIM_DIR, file)}:${i + 1}: ${rule}: ${line.trim()}`);
        }
      });
    }
    expect(violations, violations.join('\n')).toEqual([]);
  });

  it('the checker itself catches a violation', () => {
    const sample = stripComments('const t = Date.now(); // Date in a comment is fine');
    expect(FORBIDDEN.some(({ pattern }) => pattern.test(sample))).toBe(true);
    expect(FORBIDDEN.some(({ pattern }) => pattern.test(stripComments('// Date only in a comment')))).toBe(false);
  });
});
