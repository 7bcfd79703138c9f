import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The live agreement checks (`twin agree` against the simulation) judge wall-time latency at 240x: a second of CPU
 * lost is four minutes of scenario time. They run first among the live files, on the machine as the unit tests
 * leave it, not after an hour of other stacks booting and dying: in the two CI runs of 2026-12-07 they ran late and
 * the live pipeline was 2-4x slower than the same file run alone on the same machine (partition p95 95-102 s
 * against 26-27 s, harness/live/replay/README.md); every other file keeps vitest's order.
 */
const FIRST = [/harness\/live\/replay\/replay\.live\.test\.ts$/];
class AgreementFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const first = sorted.filter((f) => FIRST.some((re) => re.test(f.moduleId)));
    return [...first, ...sorted.filter((f) => !first.includes(f))];
  }
}

// `npm test` runs both projects: unit (pure, fast) and live (`*.live.test.ts`: real PostgreSQL, Redis, RabbitMQ
// processes and the twin's network services, started and stopped by the tests themselves).
export default defineConfig({
  test: {
    sequence: { sequencer: AgreementFirst },
    // As bin/twin.js does for the CLI: the AWS SDK's warning about its releases after January 2027 needing Node 22
    // (the twin pins its SDK) printed on every thread of every live test filled CI's log.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    projects: [
      {
        test: {
          name: 'unit',
          include: ['{sim,fixtures,harness,reports,bin,bench,scenarios}/**/*.test.ts'],
          exclude: ['**/*.live.test.ts', '**/node_modules/**'],
          testTimeout: 60_000,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 'live',
          include: ['{sim,fixtures,harness,reports,bin,bench,scenarios}/**/*.live.test.ts'],
          exclude: ['**/node_modules/**'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // Live tests start real processes on free ports: one file at a time keeps a 2-core machine responsive.
          fileParallelism: false,
          // And only after the unit tests: a live replay at 240x turns a second of CPU starvation into four
          // minutes of scenario time, so the agreement checks need the cores to themselves.
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
