import { defineConfig } from 'vitest/config';

// Unit, property and theory tests run by default; `*.live.test.ts` need real components and form their own project.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['{sim,fixtures,harness,reports,bin,bench,scenarios}/**/*.test.ts'],
          exclude: ['**/*.live.test.ts', '**/node_modules/**'],
          testTimeout: 60_000,
        },
      },
    ],
  },
});
