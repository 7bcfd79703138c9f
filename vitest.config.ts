import { defineConfig } from 'vitest/config';

// `npm test` runs both projects: unit (pure, fast) and live (`*.live.test.ts`: real PostgreSQL, Redis, RabbitMQ
// processes and the twin's network services, started and stopped by the tests themselves).
export default defineConfig({
  test: {
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
