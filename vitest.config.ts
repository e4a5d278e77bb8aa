import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  resolve: {
    // Tests use the built package, as users do: worker threads load dist/ files, and the
    // main side must be the same code. `npm test` builds first.
    alias: { spindle: fileURLToPath(new URL('./dist/index.js', import.meta.url)) },
  },
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/helpers/own-cwd.ts'],
    typecheck: { enabled: true, include: ['test/types/**/*.test-d.ts'] },
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
})
