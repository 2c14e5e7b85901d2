import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // graphql ships CommonJS and ESM builds; Node (and Yoga) load the CommonJS one. Tests must
    // use the same copy, or `instanceof GraphQLError` and schema types break across the two.
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    // The first run may build FerretDB with Go (about 2 minutes).
    hookTimeout: 300_000,
    testTimeout: 30_000,
    // Two cores: keep the database and the servers under test from starving each other.
    maxWorkers: 2,
  },
});
